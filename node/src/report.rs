//! Verification reports for management and auditors: one document — who
//! verified whom, when, against which profile, each requirement with its
//! outcome, the reason in plain words, the evidence and what the provider
//! must do to pass — written as a printable HTML page, a CSV file or a PDF
//! (laid out with `printpdf`'s built-in Helvetica).

use std::collections::BTreeMap;

use assure_model::Did;
use assure_model::predicate::Outcome;
use assure_verify::Report;
use jiff::Timestamp;
use maud::{DOCTYPE, Markup, PreEscaped, html};
use serde::{Deserialize, Serialize};

/// The formats a report is written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    Pdf,
    Csv,
    Html,
}

impl std::str::FromStr for Format {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        match text.to_ascii_lowercase().as_str() {
            "pdf" => Ok(Self::Pdf),
            "csv" => Ok(Self::Csv),
            "html" => Ok(Self::Html),
            _ => Err(format!("format `{text}`: give pdf, csv or html")),
        }
    }
}

impl Format {
    /// The media type of a file in this format.
    pub fn media_type(self) -> &'static str {
        match self {
            Self::Pdf => "application/pdf",
            Self::Csv => "text/csv; charset=utf-8",
            Self::Html => "text/html; charset=utf-8",
        }
    }

    /// The file name extension.
    pub fn extension(self) -> &'static str {
        match self {
            Self::Pdf => "pdf",
            Self::Csv => "csv",
            Self::Html => "html",
        }
    }
}

/// A verification report about one or more providers.
#[derive(Clone, Debug)]
pub struct Document {
    /// Who verified: our name with our DID.
    pub verifier: String,
    /// When.
    pub at: Timestamp,
    /// One section per provider.
    pub providers: Vec<Section>,
}

/// One provider's verification.
#[derive(Clone, Debug)]
pub struct Section {
    /// Its name with its short DID.
    pub name: String,
    pub did: Did,
    /// What it supplies to us, when a relationship says so.
    pub supplies: Vec<String>,
    pub report: Report,
}

impl Document {
    /// The document of `reports`, naming organizations from `names`.
    pub fn new(
        us: Did,
        names: &BTreeMap<Did, String>,
        reports: impl IntoIterator<Item = (Report, Vec<String>)>,
    ) -> Self {
        let name = |did: &Did| did.named(names.get(did).map(String::as_str));
        Self {
            verifier: name(&us),
            at: Timestamp::now(),
            providers: reports
                .into_iter()
                .map(|(report, supplies)| Section {
                    name: name(&report.provider),
                    did: report.provider,
                    supplies,
                    report,
                })
                .collect(),
        }
    }

    /// The document in `format`.
    pub fn write(&self, format: Format) -> Vec<u8> {
        match format {
            Format::Pdf => self.pdf(),
            Format::Csv => self.csv().into_bytes(),
            Format::Html => self.html().into_string().into_bytes(),
        }
    }

    fn title(&self) -> String {
        match self.providers.as_slice() {
            [one] => format!("Verification of {}", one.name),
            many => format!("Verification of {} providers", many.len()),
        }
    }

    /// One row per requirement of every provider, with a header row.
    pub fn csv(&self) -> String {
        let mut out = String::new();
        let header = [
            "provider",
            "provider_did",
            "profile",
            "verdict",
            "requirement",
            "kind",
            "outcome",
            "reason",
            "evidence",
            "to_pass",
            "verified_by",
            "verified_at",
        ];
        push_row(&mut out, header.iter().map(|h| h.to_string()));
        for section in &self.providers {
            for r in &section.report.requirements {
                let evidence: Vec<String> =
                    r.evidence.iter().map(|e| e.record.to_string()).collect();
                push_row(
                    &mut out,
                    [
                        section.name.clone(),
                        section.did.to_string(),
                        section.report.profile.clone(),
                        verdict(section.report.result).to_owned(),
                        r.id.clone(),
                        r.kind.clone(),
                        r.outcome.to_string(),
                        r.reason.clone(),
                        evidence.join(" "),
                        r.to_pass().unwrap_or_default(),
                        self.verifier.clone(),
                        self.at.to_string(),
                    ],
                );
            }
        }
        out
    }

    /// A page to print: the summary, then each provider's requirements.
    pub fn html(&self) -> Markup {
        html! {
            (DOCTYPE)
            html lang="en" {
                head {
                    meta charset="utf-8";
                    meta name="viewport" content="width=device-width, initial-scale=1";
                    title { (self.title()) }
                    link rel="icon" href="data:,";
                    style { (PreEscaped(PRINT_STYLE)) }
                }
                body {
                    main {
                        h1 { (self.title()) }
                        p { "Verified by " (self.verifier) " at " (self.at.strftime("%Y-%m-%d %H:%M UTC")) "." }
                        table {
                            thead { tr { th { "Provider" } th { "Supplies" } th { "Profile" } th { "Verdict" } } }
                            tbody {
                                @for s in &self.providers {
                                    tr {
                                        td { (s.name) }
                                        td { (s.supplies.join(", ")) }
                                        td { (s.report.profile) }
                                        td class=(verdict(s.report.result).to_lowercase()) { (verdict(s.report.result)) }
                                    }
                                }
                            }
                        }
                        @for s in &self.providers {
                            section {
                                h2 { (s.name) ": " (verdict(s.report.result)) }
                                p class="muted" { (s.did) " — profile " (s.report.profile) }
                                table {
                                    thead { tr { th { "Requirement" } th { "Outcome" } th { "Reason" } th { "Evidence" } th { "To pass" } } }
                                    tbody {
                                        @for r in &s.report.requirements {
                                            tr {
                                                td { (r.id) }
                                                td class=(r.outcome.to_string()) { (r.outcome) }
                                                td { (r.reason) }
                                                td { @for e in &r.evidence { code { (e.record.fmt_short()) } " " } }
                                                td { (r.to_pass().unwrap_or_default()) }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// The document as a PDF: A4 pages of wrapped text.
    pub fn pdf(&self) -> Vec<u8> {
        let mut pages = Pages::default();
        pages.line(&self.title(), Style::Title);
        pages.line(
            &format!(
                "Verified by {} at {}.",
                self.verifier,
                self.at.strftime("%Y-%m-%d %H:%M UTC")
            ),
            Style::Body,
        );
        pages.gap();
        for s in &self.providers {
            pages.line(
                &format!("{}: {}", s.name, verdict(s.report.result)),
                Style::Heading,
            );
            pages.line(
                &format!("{} — profile {}", s.did, s.report.profile),
                Style::Small,
            );
            if !s.supplies.is_empty() {
                pages.line(
                    &format!("Supplies: {}", s.supplies.join(", ")),
                    Style::Small,
                );
            }
            for r in &s.report.requirements {
                pages.line(&format!("{} — {}", r.id, r.outcome), Style::Strong);
                pages.line(&r.reason, Style::Body);
                if !r.evidence.is_empty() {
                    let ids: Vec<String> =
                        r.evidence.iter().map(|e| e.record.fmt_short()).collect();
                    pages.line(&format!("Evidence: {}", ids.join(", ")), Style::Small);
                }
                if let Some(to_pass) = r.to_pass() {
                    pages.line(&format!("To pass: {to_pass}"), Style::Body);
                }
            }
            pages.gap();
        }
        pages.finish(&self.title())
    }
}

fn verdict(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Pass => "PASS",
        Outcome::Fail => "FAIL",
        Outcome::Inconclusive => "INCONCLUSIVE",
    }
}

/// Appends one CSV row (RFC 4180: fields with a comma, quote or line break
/// quoted, quotes doubled).
pub fn push_row(out: &mut String, fields: impl IntoIterator<Item = String>) {
    let fields: Vec<String> = fields
        .into_iter()
        .map(|f| {
            // A leading = + - @ would run as a formula in a spreadsheet.
            let f = match f.starts_with(['=', '+', '-', '@']) {
                true => format!("'{f}"),
                false => f,
            };
            match f.contains([',', '"', '\n', '\r']) {
                true => format!("\"{}\"", f.replace('"', "\"\"")),
                false => f,
            }
        })
        .collect();
    out.push_str(&fields.join(","));
    out.push_str("\r\n");
}

const PRINT_STYLE: &str = r#"
body{font:14px/1.4 system-ui,sans-serif;color:#1d2330;margin:0}
main{padding:1.5em;max-width:1100px}
table{border-collapse:collapse;width:100%;margin:.6em 0}
td,th{border-bottom:1px solid #ccd;padding:.3em .5em;text-align:left;vertical-align:top}
.pass,.PASS{color:#17803d;font-weight:600}.fail,.FAIL{color:#c0262d;font-weight:600}
.inconclusive,.INCONCLUSIVE{color:#8a5200;font-weight:600}.muted{color:#556}
code{font:12px ui-monospace,monospace}
td,th,code,p,h1,h2{overflow-wrap:anywhere}
@media (max-width:700px){main{padding:.8em}table{display:block;overflow-x:auto}}
@media print{main{padding:0}section{break-inside:avoid}}
"#;

/// How a line of the PDF is set.
#[derive(Clone, Copy)]
enum Style {
    Title,
    Heading,
    Strong,
    Body,
    Small,
}

impl Style {
    fn size(self) -> f32 {
        match self {
            Self::Title => 18.0,
            Self::Heading => 13.0,
            Self::Strong | Self::Body => 10.0,
            Self::Small => 8.5,
        }
    }

    fn font(self) -> printpdf::BuiltinFont {
        match self {
            Self::Title | Self::Heading | Self::Strong => printpdf::BuiltinFont::HelveticaBold,
            Self::Body | Self::Small => printpdf::BuiltinFont::Helvetica,
        }
    }
}

/// A4 pages filled line by line, text wrapped at the margin.
#[derive(Default)]
struct Pages {
    done: Vec<Vec<printpdf::Op>>,
    current: Vec<printpdf::Op>,
    /// Millimetres from the top of the current page.
    y: f32,
}

const PAGE_WIDTH: f32 = 210.0;
const PAGE_HEIGHT: f32 = 297.0;
const MARGIN: f32 = 18.0;

impl Pages {
    fn line(&mut self, text: &str, style: Style) {
        // Helvetica averages about half an em a character.
        let em_mm = style.size() * 0.3528;
        let per_line = (((PAGE_WIDTH - 2.0 * MARGIN) / (em_mm * 0.5)) as usize).max(20);
        for line in wrap(text, per_line) {
            self.text(&line, style);
        }
    }

    fn text(&mut self, text: &str, style: Style) {
        use printpdf::{Mm, Op, PdfFontHandle, Point, Pt, TextItem};
        let advance = style.size() * 0.3528 * 1.35;
        if self.y == 0.0 {
            self.y = MARGIN;
        }
        if self.y + advance > PAGE_HEIGHT - MARGIN {
            self.done.push(std::mem::take(&mut self.current));
            self.y = MARGIN;
        }
        self.y += advance;
        self.current.extend([
            Op::StartTextSection,
            Op::SetTextCursor {
                pos: Point::new(Mm(MARGIN), Mm(PAGE_HEIGHT - self.y)),
            },
            Op::SetFont {
                font: PdfFontHandle::Builtin(style.font()),
                size: Pt(style.size()),
            },
            Op::ShowText {
                items: vec![TextItem::Text(text.to_owned())],
            },
            Op::EndTextSection,
        ]);
    }

    fn gap(&mut self) {
        self.y += 4.0;
    }

    fn finish(mut self, title: &str) -> Vec<u8> {
        use printpdf::{Mm, PdfDocument, PdfPage, PdfSaveOptions};
        self.done.push(self.current);
        let pages = self
            .done
            .into_iter()
            .map(|ops| PdfPage::new(Mm(PAGE_WIDTH), Mm(PAGE_HEIGHT), ops))
            .collect();
        PdfDocument::new(title)
            .with_pages(pages)
            .save(&PdfSaveOptions::default(), &mut Vec::new())
    }
}

/// `text` broken into lines of at most `width` characters, at spaces where
/// it can be.
fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        let mut word = word.to_owned();
        while word.chars().count() > width {
            let head: String = word.chars().take(width).collect();
            word = word.chars().skip(width).collect();
            if !line.is_empty() {
                lines.push(std::mem::take(&mut line));
            }
            lines.push(head);
        }
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(&word);
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_what_needs_quoting_and_defuses_formulas() {
        let mut out = String::new();
        push_row(
            &mut out,
            [
                "a,b".into(),
                "say \"hi\"".into(),
                "=SUM(A1)".into(),
                "plain".into(),
            ],
        );
        assert_eq!(out, "\"a,b\",\"say \"\"hi\"\"\",'=SUM(A1),plain\r\n");
    }

    #[test]
    fn long_words_and_lines_wrap() {
        assert_eq!(wrap("one two three", 7), vec!["one two", "three"]);
        assert_eq!(wrap("abcdefghij", 4), vec!["abcd", "efgh", "ij"]);
        assert_eq!(wrap("", 4), vec![""]);
    }
}
