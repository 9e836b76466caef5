//! Prints an `hcl::Body` exactly as `terraform fmt` would lay it out.
//!
//! hcl-rs builds the tree and escapes the leaves, but its formatter packs function
//! arguments onto one line and does not align `=` the way `terraform fmt` does, so a
//! generated bundle would fail `terraform fmt -check`. This printer lays out objects
//! and long lists one item per line (readable policies in review), then applies
//! hclwrite's alignment rule: consecutive lines that each hold a complete single-line
//! `name = value` are padded so their `=` line up; any other line (a blank line, a
//! block header, a closing bracket, `name = {` opening a multi-line value) ends the run.

use hcl::expr::{Expression, FuncCall, ObjectKey};
use hcl::structure::{Attribute, Block, BlockLabel, Body, Structure};

const INDENT: &str = "  ";
/// Lists of plain values longer than this go one item per line.
const INLINE_LIST_WIDTH: usize = 60;

/// One output line before alignment.
#[derive(Debug)]
struct Line {
    depth: usize,
    /// Everything before the `=` (or the whole line when it has no alignable `=`).
    lead: String,
    /// `= value` when this line is a complete single-line attribute.
    assign: Option<String>,
}

#[derive(Default)]
struct Printer {
    lines: Vec<Line>,
}

/// A top-level item of a file: an optional comment (one or more lines, without `#`)
/// and the structure it describes.
pub struct Item {
    pub comment: Option<String>,
    pub structure: Structure,
}

impl Item {
    pub fn new(structure: impl Into<Structure>) -> Item {
        Item {
            comment: None,
            structure: structure.into(),
        }
    }

    pub fn commented(comment: impl Into<String>, structure: impl Into<Structure>) -> Item {
        Item {
            comment: Some(comment.into()),
            structure: structure.into(),
        }
    }
}

/// Prints a whole `.tf` file: a header comment, then the items separated by blank lines.
pub fn file(header: &str, items: &[Item]) -> String {
    let mut p = Printer::default();
    for line in header.lines() {
        p.raw(0, comment_line(line));
    }
    for item in items {
        if !p.lines.is_empty() {
            p.blank();
        }
        if let Some(comment) = &item.comment {
            for line in comment.lines() {
                p.raw(0, comment_line(line));
            }
        }
        p.structure(0, &item.structure);
    }
    p.finish()
}

fn comment_line(text: &str) -> String {
    if text.is_empty() {
        "#".into()
    } else {
        format!("# {text}")
    }
}

/// Prints a single expression as it would appear after `name = ` (for tests and docs).
pub fn expression(expr: &Expression) -> String {
    let mut p = Printer::default();
    p.attribute(0, "x", expr);
    let text = p.finish();
    text.trim_start_matches("x = ").trim_end().to_string()
}

impl Printer {
    fn raw(&mut self, depth: usize, text: String) {
        self.lines.push(Line {
            depth,
            lead: text,
            assign: None,
        });
    }

    fn blank(&mut self) {
        self.raw(0, String::new());
    }

    fn structure(&mut self, depth: usize, structure: &Structure) {
        match structure {
            Structure::Attribute(a) => self.attribute(depth, a.key.as_str(), &a.expr),
            Structure::Block(b) => self.block(depth, b),
        }
    }

    fn block(&mut self, depth: usize, block: &Block) {
        let mut header = block.identifier.to_string();
        for label in &block.labels {
            header.push(' ');
            header.push_str(&match label {
                BlockLabel::String(s) => scalar(&Expression::String(s.clone())),
                BlockLabel::Identifier(i) => i.to_string(),
            });
        }
        if block.body.iter().next().is_none() {
            self.raw(depth, format!("{header} {{}}"));
            return;
        }
        self.raw(depth, format!("{header} {{"));
        self.body(depth + 1, &block.body);
        self.raw(depth, "}".into());
    }

    fn body(&mut self, depth: usize, body: &Body) {
        let items: Vec<&Structure> = body.iter().collect();
        for (i, item) in items.iter().enumerate() {
            if i > 0 && needs_blank_between(items[i - 1], item) {
                self.blank();
            }
            self.structure(depth, item);
        }
    }

    fn attribute(&mut self, depth: usize, key: &str, expr: &Expression) {
        match inline(expr) {
            Some(text) => self.lines.push(Line {
                depth,
                lead: key.to_string(),
                assign: Some(format!("= {text}")),
            }),
            None => self.multiline(depth, &format!("{key} = "), expr, ""),
        }
    }

    /// Prints a value that spans lines. `prefix` goes before the opening bracket
    /// (`key = `, or nothing for a list item) and `suffix` after the closing one (`,`).
    fn multiline(&mut self, depth: usize, prefix: &str, expr: &Expression, suffix: &str) {
        match expr {
            Expression::Object(object) => {
                self.raw(depth, format!("{prefix}{{"));
                for (key, value) in object {
                    self.attribute(depth + 1, &object_key(key), value);
                }
                self.raw(depth, format!("}}{suffix}"));
            }
            Expression::Array(items) => {
                self.raw(depth, format!("{prefix}["));
                for item in items {
                    match inline(item) {
                        Some(text) => self.raw(depth + 1, format!("{text},")),
                        None => self.multiline(depth + 1, "", item, ","),
                    }
                }
                self.raw(depth, format!("]{suffix}"));
            }
            Expression::FuncCall(call) => self.call(depth, prefix, call, suffix),
            other => {
                // Every other expression prints on one line (inline() accepted it).
                let text = inline(other).unwrap_or_else(|| scalar(other));
                self.raw(depth, format!("{prefix}{text}{suffix}"));
            }
        }
    }

    /// `name(...)` whose last argument spans lines: `jsonencode({` … `})`.
    fn call(&mut self, depth: usize, prefix: &str, call: &FuncCall, suffix: &str) {
        let (last, first) = call
            .args
            .split_last()
            .expect("multi-line calls have arguments");
        let mut head = format!("{prefix}{}(", call.name);
        for arg in first {
            head.push_str(&inline(arg).unwrap_or_else(|| scalar(arg)));
            head.push_str(", ");
        }
        let mut inner = Printer::default();
        inner.multiline(depth, "", last, "");
        let mut inner_lines = inner.lines.into_iter();
        let opening = inner_lines.next().expect("a multi-line value has lines");
        self.raw(depth, format!("{head}{}", opening.lead));
        let mut rest: Vec<Line> = inner_lines.collect();
        let closing = rest.pop().expect("a multi-line value has a closing line");
        self.lines.extend(rest);
        self.raw(depth, format!("{}){suffix}", closing.lead));
    }

    /// Applies the alignment rule and joins the lines.
    fn finish(mut self) -> String {
        let mut start = 0;
        while start < self.lines.len() {
            if self.lines[start].assign.is_none() {
                start += 1;
                continue;
            }
            let mut end = start;
            while end < self.lines.len() && self.lines[end].assign.is_some() {
                end += 1;
            }
            // hclwrite counts bytes, not characters, when it pads.
            let width = self.lines[start..end]
                .iter()
                .map(|l| l.depth * INDENT.len() + l.lead.len())
                .max()
                .unwrap_or(0);
            for line in &mut self.lines[start..end] {
                let pad = width - (line.depth * INDENT.len() + line.lead.len());
                line.lead.push_str(&" ".repeat(pad));
            }
            start = end;
        }
        let mut out = String::new();
        for line in &self.lines {
            if !line.lead.is_empty() {
                out.push_str(&INDENT.repeat(line.depth));
                out.push_str(&line.lead);
            }
            if let Some(assign) = &line.assign {
                out.push(' ');
                out.push_str(assign);
            }
            out.push('\n');
        }
        out
    }
}

/// Terraform's meta-arguments, kept as a group at the top of a block.
fn is_meta(structure: &Structure) -> bool {
    matches!(structure, Structure::Attribute(a) if matches!(a.key.as_str(), "source" | "version" | "providers" | "provider" | "count" | "for_each"))
}

fn is_multiline(structure: &Structure) -> bool {
    match structure {
        Structure::Block(_) => true,
        Structure::Attribute(Attribute { expr, .. }) => inline(expr).is_none(),
    }
}

fn needs_blank_between(previous: &Structure, next: &Structure) -> bool {
    is_multiline(previous)
        || is_multiline(next)
        || (is_meta(previous) && !is_meta(next))
        || matches!(next, Structure::Attribute(a) if a.key.as_str() == "depends_on")
}

/// The single-line form of `expr`, or None when it is laid out over several lines.
fn inline(expr: &Expression) -> Option<String> {
    match expr {
        Expression::Object(o) if o.is_empty() => Some("{}".into()),
        Expression::Object(_) => None,
        Expression::Array(items) => {
            let parts: Option<Vec<String>> = items
                .iter()
                .map(|item| match item {
                    Expression::Array(_) | Expression::Object(_) | Expression::FuncCall(_) => None,
                    other => inline(other),
                })
                .collect();
            let parts = parts?;
            let text = format!("[{}]", parts.join(", "));
            (parts.len() <= 1 || text.len() <= INLINE_LIST_WIDTH).then_some(text)
        }
        Expression::FuncCall(call) => {
            let args: Option<Vec<String>> = call
                .args
                .iter()
                .map(|a| match a {
                    Expression::Object(o) if !o.is_empty() => None,
                    other => inline(other),
                })
                .collect();
            args.map(|args| format!("{}({})", call.name, args.join(", ")))
        }
        other => Some(scalar(other)),
    }
}

/// Strings, numbers, booleans, references: hcl-rs prints and escapes these.
fn scalar(expr: &Expression) -> String {
    hcl::format::to_string(expr).expect("scalar expressions always format")
}

/// Object keys: bare when they are identifiers (and not keywords), quoted otherwise.
fn object_key(key: &ObjectKey) -> String {
    match key {
        ObjectKey::Identifier(i) => i.to_string(),
        ObjectKey::Expression(Expression::String(s))
            if hcl::Identifier::new(s.as_str()).is_ok()
                && !matches!(s.as_str(), "true" | "false" | "null" | "for" | "in" | "if") =>
        {
            s.clone()
        }
        ObjectKey::Expression(e) => scalar(e),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hcl::expr::{Traversal, Variable};

    fn obj(pairs: Vec<(&str, Expression)>) -> Expression {
        Expression::Object(
            pairs
                .into_iter()
                .map(|(k, v)| (ObjectKey::Expression(Expression::String(k.into())), v))
                .collect(),
        )
    }

    #[test]
    fn aligns_runs_of_single_line_attributes() {
        let body = Body::builder()
            .add_attribute(("source", "./modules/x"))
            .add_attribute(("bucket", "b"))
            .add_attribute(("kms_key_arn", "k"))
            .add_attribute((
                "tags",
                obj(vec![("team", "x".into()), ("cost-centre", "y".into())]),
            ))
            .build();
        let out = file(
            "",
            &[Item::new(
                Block::builder("module")
                    .add_label("m")
                    .add_structures(body)
                    .build(),
            )],
        );
        assert_eq!(
            out,
            "module \"m\" {\n  source = \"./modules/x\"\n\n  bucket      = \"b\"\n  kms_key_arn = \"k\"\n\n  tags = {\n    team        = \"x\"\n    cost-centre = \"y\"\n  }\n}\n"
        );
    }

    #[test]
    fn function_calls_wrap_their_object() {
        let reference = Expression::from(
            Traversal::builder(Variable::new("module").unwrap())
                .attr("k")
                .attr("arn")
                .build(),
        );
        let doc = Expression::from(
            FuncCall::builder("jsonencode")
                .arg(obj(vec![
                    ("Version", "2012-10-17".into()),
                    (
                        "Statement",
                        Expression::Array(vec![obj(vec![
                            ("Resource", reference),
                            ("kms:ViaService", "s3".into()),
                        ])]),
                    ),
                ]))
                .build(),
        );
        assert_eq!(
            expression(&doc),
            "jsonencode({\n  Version = \"2012-10-17\"\n  Statement = [\n    {\n      Resource         = module.k.arn\n      \"kms:ViaService\" = \"s3\"\n    },\n  ]\n})"
        );
    }

    #[test]
    fn long_lists_go_one_item_per_line() {
        let long = Expression::Array(
            (0..5)
                .map(|i| Expression::String(format!("s3:SomeAction{i}")))
                .collect(),
        );
        assert!(expression(&long).starts_with("[\n  \"s3:SomeAction0\",\n"));
        let short = Expression::Array(vec!["a".into(), "b".into()]);
        assert_eq!(expression(&short), "[\"a\", \"b\"]");
    }

    #[test]
    fn empty_blocks_and_objects_are_compact() {
        let out = file(
            "",
            &[Item::new(
                Block::builder("x")
                    .add_attribute(("t", obj(vec![])))
                    .add_block(Block::builder("y").build())
                    .build(),
            )],
        );
        assert_eq!(out, "x {\n  t = {}\n\n  y {}\n}\n");
    }
}
