use base64::Engine as _;

use super::{chart_png, urls};
use crate::html::{Figure, PNG_SIGNATURE, Page, Section, is_relative_href};

/// A page with something hostile in every place a user's string can reach.
fn hostile_page() -> Page {
    Page {
        title: "run <script>alert('t')</script> & co".into(),
        sections: vec![
            Section::Markdown {
                heading: "Report <b>".into(),
                text: "| class |\n|---|\n| <script>x()</script> |\n\n\
                       [web](https://example.com) <http://example.com> [rel](eval/report.html)\n\
                       ![img](//example.com/x.png)\n"
                    .into(),
            },
            Section::Preformatted {
                heading: "config.toml".into(),
                text: "name = \"</code></pre><script>x()</script>\"\n".into(),
            },
            Section::Figures {
                heading: "Charts".into(),
                figures: vec![Figure {
                    caption: "loss\" onerror=\"x()".into(),
                    png: chart_png(),
                }],
                notes: vec!["big.png: not embedded: too large".into()],
            },
            Section::Links {
                heading: "Linked reports".into(),
                links: vec![
                    ("trial 3".into(), "trial-0003/report.html".into()),
                    ("evil".into(), "javascript:alert(1)".into()),
                    ("web".into(), "https://example.com/".into()),
                    ("proto".into(), "//example.com/".into()),
                ],
                notes: Vec::new(),
            },
        ],
    }
}

#[test]
fn the_page_holds_no_script_and_no_external_reference() {
    let html = hostile_page().to_html();
    assert!(!html.to_lowercase().contains("<script"), "{html}");
    for url in urls(&html) {
        let embedded = url.starts_with("data:image/png;base64,");
        let fragment = url.starts_with('#');
        assert!(embedded || fragment || is_relative_href(url), "{url}");
        if !embedded {
            assert!(!url.contains("//") && !url.contains("http"), "{url}");
        }
    }
    // Nothing else in the page could load a resource: no `url(` or `@import` in the style,
    // and the policy forbids every source but the embedded images and the inline style.
    assert!(!html.contains("url(") && !html.contains("@import"));
    assert!(html.contains("default-src 'none'; img-src data:;"));
    // The links that survive are exactly the two relative ones.
    let links: Vec<&str> = urls(&html)
        .into_iter()
        .filter(|u| !u.starts_with('#') && !u.starts_with("data:"))
        .collect();
    assert_eq!(links, ["eval/report.html", "trial-0003/report.html"]);
}

#[test]
fn user_strings_are_escaped_everywhere() {
    let html = hostile_page().to_html();
    assert!(
        html.contains(
            "<title>run &lt;script&gt;alert(&#39;t&#39;)&lt;/script&gt; &amp; co</title>"
        )
    );
    assert!(html.contains("<h2>Report &lt;b&gt;</h2>"));
    assert!(html.contains("&lt;/code&gt;&lt;/pre&gt;&lt;script&gt;"));
    assert!(html.contains("alt=\"loss&quot; onerror=&quot;x()\""));
    assert!(html.contains("<li>evil</li>"));
}

#[test]
fn the_document_is_html5_in_utf8_with_an_inline_style_only() {
    let html = Page::new("t").to_html();
    assert!(
        html.starts_with("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">")
    );
    assert_eq!(html.matches("<style>").count(), 1);
    assert!(
        !html.contains("<link") && !html.contains("<nav"),
        "no sections, no contents"
    );
    assert!(html.trim_end().ends_with("</html>"));
}

#[test]
fn the_contents_link_to_every_section_by_its_id() {
    let html = hostile_page().to_html();
    for (i, heading) in [
        "Report &lt;b&gt;",
        "config.toml",
        "Charts",
        "Linked reports",
    ]
    .iter()
    .enumerate()
    {
        let id = format!("section-{}", i + 1);
        assert!(
            html.contains(&format!("<li><a href=\"#{id}\">{heading}</a></li>")),
            "{id}"
        );
        assert!(
            html.contains(&format!("<section id=\"{id}\">\n<h2>{heading}</h2>")),
            "{id}"
        );
    }
}

#[test]
fn an_embedded_png_decodes_back_to_its_bytes_and_size() {
    let png = chart_png();
    let page = Page {
        title: "t".into(),
        sections: vec![Section::Figures {
            heading: "Charts".into(),
            figures: vec![Figure {
                caption: "loss".into(),
                png: png.clone(),
            }],
            notes: Vec::new(),
        }],
    };
    let html = page.to_html();
    let src = urls(&html)
        .into_iter()
        .find_map(|u| u.strip_prefix("data:image/png;base64,"))
        .expect("the figure is embedded");
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(src)
        .expect("valid base64");
    assert_eq!(decoded, png);
    // The chart module's default size, read back from the IHDR chunk into the attributes.
    let (w, h) = crate::chart::SIZE;
    assert!(html.contains(&format!("width=\"{w}\" height=\"{h}\"")));
    let image = image::load_from_memory(&decoded).expect("decodes as an image");
    assert_eq!((image.width(), image.height()), (w, h));
}

#[test]
fn bytes_that_are_not_a_png_are_skipped_with_a_visible_note() {
    let mut almost = PNG_SIGNATURE.to_vec();
    almost[1] = b'J';
    let page = Page {
        title: "t".into(),
        sections: vec![Section::Figures {
            heading: "Charts".into(),
            figures: vec![
                Figure {
                    caption: "fake".into(),
                    png: almost,
                },
                Figure {
                    caption: "real".into(),
                    png: chart_png(),
                },
            ],
            notes: Vec::new(),
        }],
    };
    let html = page.to_html();
    assert_eq!(html.matches("<img").count(), 1);
    assert!(html.contains("alt=\"real\""));
    assert!(
        html.contains("<li>fake: not embedded: not a PNG file</li>"),
        "{html}"
    );
}
