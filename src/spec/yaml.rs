//! A YAML document as a tree of nodes that remember where they were written.
//!
//! serde_yaml-style deserializers forget positions once a value is typed, but every
//! diagnostic s3bridge prints must point at `file:line:col`. So the spec is first read
//! into this small tree (scalars, sequences, mappings, each with its source position),
//! then typed by `spec::de`, and validation looks positions up again by field path.

use std::borrow::Cow;
use std::collections::HashMap;

use saphyr_parser::{Event, Parser, ScalarStyle, Span};

/// A 1-based line and column in the spec file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pos {
    pub line: usize,
    pub col: usize,
}

impl Pos {
    fn from_span(span: &Span) -> Pos {
        Pos {
            line: span.start.line(),
            col: span.start.col() + 1,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum NodeKind {
    /// A scalar with its raw text. `plain` is false for quoted and block scalars, whose
    /// text is always a string (`"123"` is not a number, `"true"` not a bool).
    Scalar {
        text: String,
        plain: bool,
    },
    Seq(Vec<Node>),
    /// Entries in document order; duplicate keys are rejected while loading.
    Map(Vec<(Node, Node)>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub kind: NodeKind,
    pub pos: Pos,
}

impl Node {
    /// `null`, `~` or an empty value (`key:` with nothing after it).
    pub fn is_null(&self) -> bool {
        matches!(&self.kind, NodeKind::Scalar { text, plain: true } if matches!(text.as_str(), "" | "~" | "null" | "Null" | "NULL"))
    }

    pub fn describe(&self) -> &'static str {
        match &self.kind {
            NodeKind::Scalar { .. } if self.is_null() => "an empty value",
            NodeKind::Scalar { .. } => "a scalar",
            NodeKind::Seq(_) => "a list",
            NodeKind::Map(_) => "a mapping",
        }
    }
}

/// A YAML syntax error, before any typing happens.
#[derive(Debug, Clone, PartialEq)]
pub struct SyntaxError {
    pub pos: Pos,
    pub message: String,
    /// What to do, when more is known than "check the syntax here".
    pub hint: Option<String>,
}

/// Parses one YAML document. An empty file is an empty mapping's absence: `Ok(None)`.
pub fn parse(source: &str) -> Result<Option<Node>, SyntaxError> {
    let mut builder = Builder::default();
    let mut parser = Parser::new_from_str(source);
    while let Some(next) = parser.next_event() {
        let (event, span) = next.map_err(|e| SyntaxError {
            pos: Pos {
                line: e.marker().line(),
                col: e.marker().col() + 1,
            },
            message: e.info().to_string(),
            hint: None,
        })?;
        if builder.on_event(event, span)? {
            break;
        }
    }
    Ok(builder.root)
}

enum Frame {
    Seq(Node, usize),
    Map(Node, usize, Option<Node>),
}

#[derive(Default)]
struct Builder {
    stack: Vec<Frame>,
    anchors: HashMap<usize, Node>,
    root: Option<Node>,
    documents: usize,
}

impl Builder {
    /// Returns true once the first document is complete.
    fn on_event(&mut self, event: Event<'_>, span: Span) -> Result<bool, SyntaxError> {
        let pos = Pos::from_span(&span);
        match event {
            Event::DocumentStart(_) => {
                self.documents += 1;
                if self.documents > 1 {
                    return Err(SyntaxError {
                        pos,
                        message:
                            "the spec holds more than one YAML document; keep one spec per file"
                                .into(),
                        hint: Some(
                            "remove the `---` line and what follows it, or split the file".into(),
                        ),
                    });
                }
            }
            Event::DocumentEnd | Event::StreamEnd => return Ok(matches!(event, Event::StreamEnd)),
            Event::Scalar(text, style, anchor, _tag) => {
                let node = Node {
                    kind: NodeKind::Scalar {
                        text: Cow::into_owned(text),
                        plain: style == ScalarStyle::Plain,
                    },
                    pos,
                };
                self.remember(anchor, &node);
                self.push(node)?;
            }
            Event::SequenceStart(anchor, _) => self.stack.push(Frame::Seq(
                Node {
                    kind: NodeKind::Seq(Vec::new()),
                    pos,
                },
                anchor,
            )),
            Event::MappingStart(anchor, _) => self.stack.push(Frame::Map(
                Node {
                    kind: NodeKind::Map(Vec::new()),
                    pos,
                },
                anchor,
                None,
            )),
            Event::SequenceEnd | Event::MappingEnd => {
                let (node, anchor) = match self.stack.pop() {
                    Some(Frame::Seq(node, anchor)) | Some(Frame::Map(node, anchor, None)) => {
                        (node, anchor)
                    }
                    _ => {
                        return Err(SyntaxError {
                            pos,
                            message: "unbalanced YAML structure".into(),
                            hint: None,
                        })
                    }
                };
                self.remember(anchor, &node);
                self.push(node)?;
            }
            Event::Alias(anchor) => {
                let mut node = self.anchors.get(&anchor).cloned().ok_or(SyntaxError {
                    pos,
                    message: "alias refers to an unknown anchor".into(),
                    hint: Some(
                        "define the anchor (`&name`) before the alias (`*name`) uses it".into(),
                    ),
                })?;
                node.pos = pos;
                self.push(node)?;
            }
            Event::Nothing | Event::StreamStart => {}
        }
        Ok(false)
    }

    fn remember(&mut self, anchor: usize, node: &Node) {
        if anchor > 0 {
            self.anchors.insert(anchor, node.clone());
        }
    }

    fn push(&mut self, node: Node) -> Result<(), SyntaxError> {
        match self.stack.last_mut() {
            None => self.root = Some(node),
            Some(Frame::Seq(seq, _)) => {
                if let NodeKind::Seq(items) = &mut seq.kind {
                    items.push(node);
                }
            }
            Some(Frame::Map(map, _, pending)) => match pending.take() {
                None => {
                    if !matches!(node.kind, NodeKind::Scalar { .. }) {
                        return Err(SyntaxError {
                            pos: node.pos,
                            message: "mapping keys must be plain words, not lists or mappings"
                                .into(),
                            hint: None,
                        });
                    }
                    *pending = Some(node);
                }
                Some(key) => {
                    if let NodeKind::Map(entries) = &mut map.kind {
                        if let Some((first, _)) = entries.iter().find(|(k, _)| k.kind == key.kind) {
                            return Err(SyntaxError {
                                pos: key.pos,
                                message: format!(
                                    "duplicate key `{}` (first written at line {})",
                                    scalar_text(&key),
                                    first.pos.line
                                ),
                                hint: Some(format!(
                                    "keep one `{}:` line: a mapping holds each key once",
                                    scalar_text(&key)
                                )),
                            });
                        }
                        entries.push((key, node));
                    }
                }
            },
        }
        Ok(())
    }
}

pub fn scalar_text(node: &Node) -> &str {
    match &node.kind {
        NodeKind::Scalar { text, .. } => text,
        _ => "",
    }
}

/// Positions of every field, keyed by its dotted path (`replication.rules[0].id`), so
/// that checks running on the typed spec can still point at the line that is wrong.
#[derive(Debug, Default, Clone)]
pub struct PosIndex {
    positions: HashMap<String, Pos>,
}

impl PosIndex {
    pub fn build(root: &Node) -> PosIndex {
        let mut index = PosIndex::default();
        index.visit("", root);
        index
    }

    fn visit(&mut self, path: &str, node: &Node) {
        self.positions.insert(path.to_string(), node.pos);
        match &node.kind {
            NodeKind::Scalar { .. } => {}
            NodeKind::Seq(items) => {
                for (i, item) in items.iter().enumerate() {
                    self.visit(&format!("{path}[{i}]"), item);
                }
            }
            NodeKind::Map(entries) => {
                for (key, value) in entries {
                    let child = join(path, scalar_text(key));
                    // The key's own position is where a reader looks for the field; the
                    // value's is kept under a suffix for checks on the value itself.
                    self.visit(&child, value);
                    self.positions.insert(format!("{child}#key"), key.pos);
                    if matches!(value.kind, NodeKind::Scalar { .. }) && !value.is_null() {
                        continue;
                    }
                    self.positions.insert(child.clone(), key.pos);
                }
            }
        }
    }

    /// The position of `path`, or of its closest written ancestor when the field was
    /// left out (a default), so a diagnostic always has somewhere to point.
    pub fn find(&self, path: &str) -> Pos {
        let mut current = path.to_string();
        loop {
            if let Some(pos) = self.positions.get(&current) {
                return *pos;
            }
            match parent(&current) {
                Some(p) => current = p,
                None => return Pos { line: 1, col: 1 },
            }
        }
    }
}

pub fn join(path: &str, field: &str) -> String {
    if path.is_empty() {
        field.to_string()
    } else {
        format!("{path}.{field}")
    }
}

fn parent(path: &str) -> Option<String> {
    if path.is_empty() {
        return None;
    }
    let cut = path.rfind(['.', '[']).unwrap_or(0);
    Some(path[..cut].to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_point_at_keys_and_values() {
        let src = "a: 1\nb:\n  c: \"x\"\n  d:\n    - p\n    - q\n";
        let root = parse(src).unwrap().unwrap();
        let index = PosIndex::build(&root);
        assert_eq!(index.find("a"), Pos { line: 1, col: 4 });
        assert_eq!(index.find("b.c"), Pos { line: 3, col: 6 });
        assert_eq!(index.find("b.d"), Pos { line: 4, col: 3 });
        assert_eq!(index.find("b.d[1]"), Pos { line: 6, col: 7 });
        assert_eq!(index.find("b.missing"), Pos { line: 2, col: 1 });
    }

    #[test]
    fn quoted_scalars_are_not_plain() {
        let root = parse("a: \"1\"\nb: 1\n").unwrap().unwrap();
        let NodeKind::Map(entries) = root.kind else {
            panic!()
        };
        assert!(matches!(
            entries[0].1.kind,
            NodeKind::Scalar { plain: false, .. }
        ));
        assert!(matches!(
            entries[1].1.kind,
            NodeKind::Scalar { plain: true, .. }
        ));
    }

    #[test]
    fn duplicate_keys_are_errors() {
        let err = parse("a: 1\nb: 2\na: 3\n").unwrap_err();
        assert_eq!(err.pos.line, 3);
        assert!(err.message.contains("duplicate key `a`"), "{}", err.message);
    }

    #[test]
    fn syntax_errors_have_positions() {
        let err = parse("a: [1, 2\nb: 3\n").unwrap_err();
        assert!(err.pos.line >= 1);
    }

    #[test]
    fn anchors_and_aliases_resolve() {
        let root = parse("x: &k [1]\ny: *k\n").unwrap().unwrap();
        let NodeKind::Map(entries) = root.kind else {
            panic!()
        };
        assert!(matches!(&entries[1].1.kind, NodeKind::Seq(v) if v.len() == 1));
    }
}
