//! What the HTML reports (`tailor cost`, `sweep` and `estimate --html`)
//! share: a page in one style, a bulleted list, text escaped for HTML, and
//! the charts' colours.

/// Colours for a chart's series, in order.
pub(crate) const COLOURS: [&str; 5] = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2"];

/// Escapes text for HTML.
pub(crate) fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A whole report: titled `Tailor: <title>`, headed `heading`, then
/// `body` (HTML). Table cells align right but those `left` selects (a CSS
/// selector list), whose text aligns left.
pub(crate) fn page(title: &str, heading: &str, left: &str, body: &str) -> String {
    format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Tailor: {title}</title>
<style>body{{font-family:sans-serif;max-width:60rem;margin:2rem auto}}table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:.3rem .6rem;text-align:right}}{left}{{text-align:left}}</style>
</head><body>
<h1>{heading}</h1>
{body}
</body></html>
"#
    )
}

/// Each item, escaped, as a list item.
pub(crate) fn items<'a>(texts: impl IntoIterator<Item = &'a str>) -> String {
    texts
        .into_iter()
        .map(|text| format!("<li>{}</li>", escape(text)))
        .collect()
}
