//! The page's style sheet, inline so the page needs no other file.
//!
//! System fonts only (no web font: nothing may be fetched); body text at 15 px with a line
//! height of about 1.55 and a measure capped by the page width; tables with borders, tabular
//! figures (`font-variant-numeric: tabular-nums`, so digits of equal place line up in the
//! right-aligned number columns) and a horizontal scroll instead of overflowing; images never
//! wider than their box. Printing drops the background and keeps each figure on one page.

/// The CSS of every page.
pub(crate) const STYLE: &str = r#"
:root {
  color-scheme: light;
  --fg: #1f2328; --muted: #59636e; --border: #d1d9e0; --soft: #f6f8fa;
  --head: #eef1f4; --accent: #0969da; --note-bg: #fff8c5; --note-border: #e3cf6a;
}
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body {
  margin: 0; background: #eef1f5; color: var(--fg);
  font: 15px/1.55 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", "Noto Sans",
    "DejaVu Sans", Arial, sans-serif;
}
.page { max-width: 1080px; margin: 0 auto; padding: 28px 24px 40px; }
header h1 {
  font-size: 1.8rem; line-height: 1.25; margin: 0 0 18px; font-weight: 650;
  overflow-wrap: anywhere;
}
h2, h3, h4, h5, h6 { line-height: 1.3; font-weight: 620; overflow-wrap: anywhere; }
section > h2 {
  font-size: 1.3rem; margin: 0 0 14px; padding-bottom: 8px;
  border-bottom: 1px solid var(--border);
}
.markdown h2 { font-size: 1.2rem; margin: 22px 0 10px; }
.markdown h3 { font-size: 1.08rem; margin: 20px 0 8px; }
.markdown h4, .markdown h5, .markdown h6 { font-size: 1rem; margin: 16px 0 6px; }
p { margin: 10px 0; }
a { color: var(--accent); text-decoration: none; }
a:hover { text-decoration: underline; }
nav.toc, section {
  background: #fff; border: 1px solid var(--border); border-radius: 10px;
  box-shadow: 0 1px 2px rgba(31, 35, 40, 0.06);
}
nav.toc { padding: 12px 20px; margin-bottom: 20px; }
nav.toc h2 {
  font-size: 0.78rem; letter-spacing: 0.06em; text-transform: uppercase; color: var(--muted);
  margin: 0 0 6px;
}
nav.toc ol { margin: 0; padding: 0; list-style: none; display: flex; flex-wrap: wrap; gap: 4px 8px; }
nav.toc li a {
  display: inline-block; padding: 3px 10px; border-radius: 999px; background: var(--soft);
  border: 1px solid var(--border); font-size: 0.9rem;
}
section { padding: 20px 26px 22px; margin: 0 0 20px; }
table {
  display: block; width: max-content; max-width: 100%; overflow: auto;
  border-collapse: collapse; margin: 14px 0; font-size: 14px;
  font-variant-numeric: tabular-nums;
}
th, td { border: 1px solid var(--border); padding: 5px 12px; }
th { background: var(--head); font-weight: 600; }
tbody tr:nth-child(even) { background: #fafbfc; }
tbody tr:hover { background: #f1f6fd; }
code, pre {
  font-family: ui-monospace, SFMono-Regular, "SF Mono", Menlo, Consolas, "DejaVu Sans Mono",
    "Liberation Mono", monospace;
}
code { font-size: 0.88em; background: var(--soft); border: 1px solid #e6eaef; border-radius: 5px;
  padding: 0 5px; overflow-wrap: anywhere; }
pre {
  background: var(--soft); border: 1px solid var(--border); border-radius: 8px; margin: 0;
  padding: 14px 16px; overflow: auto; font-size: 13px; line-height: 1.5;
}
pre code { background: none; border: 0; padding: 0; font-size: inherit; overflow-wrap: normal; }
ul, ol { padding-left: 1.6em; }
.figures { display: grid; grid-template-columns: 1fr; gap: 18px; }
figure {
  margin: 0; padding: 12px 12px 8px; border: 1px solid var(--border); border-radius: 8px;
  background: #fff; text-align: center; break-inside: avoid;
}
figure img { display: block; max-width: 100%; height: auto; margin: 0 auto; }
figcaption { color: var(--muted); font-size: 0.88rem; margin-top: 6px; }
ul.links { columns: 16em; column-gap: 2em; margin: 0; }
ul.links li { break-inside: avoid; overflow-wrap: anywhere; }
ul.notes {
  list-style: none; margin: 14px 0 0; padding: 10px 14px; background: var(--note-bg);
  border: 1px solid var(--note-border); border-radius: 8px; font-size: 0.92rem;
}
footer { color: var(--muted); font-size: 0.8rem; text-align: center; margin-top: 26px; }
@media print {
  body { background: #fff; }
  .page { max-width: none; padding: 0; }
  nav.toc, section { box-shadow: none; border: 0; }
  pre { white-space: pre-wrap; }
}
"#;
