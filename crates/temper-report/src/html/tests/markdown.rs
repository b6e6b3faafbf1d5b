use crate::html::markdown::render;
use crate::html::{is_relative_href, markdown_cell, markdown_to_html};

#[test]
fn a_class_named_like_a_script_reads_as_text() {
    let md = "| class | recall |\n|---|---|\n| <script>alert(1)</script> | 0.5 |\n";
    let html = markdown_to_html(md);
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{html}"
    );
    assert!(!html.to_lowercase().contains("<script"), "{html}");
}

#[test]
fn a_name_with_a_pipe_and_a_line_break_stays_in_its_cell() {
    let name = markdown_cell("a|b\nc");
    assert_eq!(name, "a\\|b c");
    let md = format!("| class | recall |\n|---|---|\n| {name} | 0.5 |\n");
    let html = markdown_to_html(&md);
    // One body row of two cells: the pipe did not split the name into a third column.
    assert_eq!(html.matches("<td").count(), 2, "{html}");
    assert!(html.contains(">a|b c</td>"), "{html}");
}

#[test]
fn an_html_block_becomes_an_escaped_paragraph() {
    let html = markdown_to_html("<div onclick=\"steal()\">\nhi\n</div>\n\n<!-- note -->\n");
    assert!(!html.contains("<div"), "{html}");
    // Quotes need no escaping in element content (pulldown-cmark's body-text escaping).
    assert!(
        html.contains("<p>&lt;div onclick=\"steal()\"&gt;\nhi\n&lt;/div&gt;\n</p>"),
        "{html}"
    );
    assert!(html.contains("&lt;!-- note --&gt;"), "{html}");
}

#[test]
fn inline_html_becomes_text() {
    let html = markdown_to_html("run <img src=x onerror=alert(1)> done");
    assert_eq!(html, "<p>run &lt;img src=x onerror=alert(1)&gt; done</p>\n");
}

#[test]
fn script_data_and_absolute_urls_lose_their_link_but_keep_their_text() {
    let md = "[alpha](javascript:alert(1)) [bravo](data:text/html,x) [charlie](https://example.com) \
              [delta](//example.com/x) [echo](/etc/passwd) [foxtrot](&#106;avascript:alert(1)) \
              [golf](JaVaScRiPt:alert(1)) <http://example.com/auto> <someone@example.com> \
              [hotel](<java\tscript:alert(1)>) [india](c:\\windows)";
    let html = markdown_to_html(md);
    assert!(!html.contains("<a"), "{html}");
    let words = [
        "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india",
    ];
    for word in words {
        assert!(html.contains(word), "{word}: {html}");
    }
    assert!(
        html.contains("http://example.com/auto"),
        "autolink text stays: {html}"
    );
}

#[test]
fn relative_links_and_fragments_stay_links() {
    let md = "[trial](trial-0003/report.html) [study](../report.html) [top](#section-1) \
              [q](eval/report.html?x=1#y)";
    let html = markdown_to_html(md);
    for href in [
        "trial-0003/report.html",
        "../report.html",
        "#section-1",
        "eval/report.html?x=1#y",
    ] {
        assert!(
            html.contains(&format!("<a href=\"{href}\">")),
            "{href}: {html}"
        );
    }
}

#[test]
fn the_relative_href_rule_refuses_schemes_roots_and_disguises() {
    let accepted = [
        "a.html",
        "../b/report.html",
        "#x",
        "?q=1",
        "./a:b",
        "a/b:c",
        "%20x",
    ];
    for href in accepted {
        assert!(is_relative_href(href), "{href} should be accepted");
    }
    let refused = [
        "",
        "javascript:alert(1)",
        "data:image/png;base64,AAAA",
        "http://example.com",
        "mailto:a@b",
        "//example.com",
        "/abs/path",
        "\\\\host\\share",
        "java\tscript:x",
        " javascript:x",
        "a b",
        "x\u{0}y",
        "c:report.html",
    ];
    for href in refused {
        assert!(!is_relative_href(href), "{href:?} should be refused");
    }
}

#[test]
fn images_show_their_alt_text_and_load_nothing() {
    let html = markdown_to_html("![the chart](https://example.com/c.png) ![local](loss.png)");
    assert!(!html.contains("<img"), "{html}");
    assert_eq!(html, "<p>the chart local</p>\n");
}

#[test]
fn tables_render_with_numbers_right_aligned_and_words_left() {
    let md = "| class | recall | share | note |\n|---|---|:-:|---|\n\
              | 0 | 0.9980 | 12% | ok |\n| **1** | 100.00% | — | - |\n| cat | -1e-3 | 3 | 2 |\n";
    let html = markdown_to_html(md);
    assert!(
        html.starts_with("<table><thead><tr><th>class</th>"),
        "{html}"
    );
    // `recall` is all numbers; `class` and `note` hold words; `share` has its own alignment.
    assert!(
        html.contains("<th style=\"text-align: right\">recall</th>"),
        "{html}"
    );
    assert!(
        html.contains("<td style=\"text-align: right\">-1e-3</td>"),
        "{html}"
    );
    assert!(html.contains("<td><strong>1</strong></td>"), "{html}");
    assert!(
        html.contains("<th style=\"text-align: center\">share</th>"),
        "{html}"
    );
    assert!(html.contains("<th>note</th>"), "{html}");
}

#[test]
fn strikethrough_and_code_render() {
    let html = markdown_to_html("~~old~~ `dense-42`");
    assert_eq!(html, "<p><del>old</del> <code>dense-42</code></p>\n");
}

#[test]
fn headings_move_down_under_the_section_heading() {
    assert_eq!(
        render("# A\n## B\n###### C\n", 1),
        "<h2>A</h2>\n<h3>B</h3>\n<h6>C</h6>\n"
    );
}
