//! `schema.prisma` text to a syntax tree.
//!
//! The grammar is `schema.pest` (pest); this module runs it and turns the
//! parse tree into the small AST below ([`Schema`]), which is all the
//! catalog derivation needs: models with fields and attributes, enums, and
//! the `datasource` / `generator` blocks as plain properties. Nothing here
//! knows what an attribute means: `@id`, `@relation(...)` or `@db.VarChar(n)`
//! are all just [`Attribute`]s with [`Argument`]s.
//!
//! A syntax error comes back as a [`ParseError`] with the 1-based line and
//! column of the offending token and a message meant for the person who
//! wrote the schema ("expected `}` to close `model User` ..."). So does a
//! word Prisma does not know (`@uniq`, `@@indx`, `onDelet:`): the tree is
//! checked against Prisma's vocabulary (`super::vocabulary`) before it is
//! returned.

use std::fmt;

use pest::Parser;
use pest::error::{ErrorVariant, LineColLocation};
use pest::iterators::Pair;

/// The pest parser generated from `schema.pest`.
#[derive(pest_derive::Parser)]
#[grammar = "prisma/schema.pest"]
struct SchemaParser;

/// A syntax error in a schema, at a 1-based line and column (in characters).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// 1-based line.
    pub line: usize,
    /// 1-based column, counted in characters.
    pub column: usize,
    /// What is wrong, for a human.
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line {}, column {}: {}",
            self.line, self.column, self.message
        )
    }
}

impl std::error::Error for ParseError {}

/// A 1-based line and column in the schema text, for messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Position {
    /// 1-based line.
    pub line: usize,
    /// 1-based column, counted in characters.
    pub column: usize,
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}, column {}", self.line, self.column)
    }
}

/// A parsed `schema.prisma`: its blocks, by kind, each in source order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Schema {
    /// `model`, `view` and `type` blocks.
    pub models: Vec<Model>,
    /// `enum` blocks.
    pub enums: Vec<Enum>,
    /// `datasource` and `generator` blocks.
    pub configs: Vec<ConfigBlock>,
}

impl Schema {
    /// The model (or view, or composite type) named `name`.
    pub fn model(&self, name: &str) -> Option<&Model> {
        self.models.iter().find(|m| m.name == name)
    }

    /// The first `datasource` block, if any.
    pub fn datasource(&self) -> Option<&ConfigBlock> {
        self.configs
            .iter()
            .find(|c| c.kind == ConfigKind::Datasource)
    }
}

/// Which keyword opened a model-like block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelKind {
    /// `model`: a table.
    Model,
    /// `view`: a database view (not created by Prisma Migrate).
    View,
    /// `type`: a composite type (MongoDB only).
    Type,
}

/// A `model`, `view` or `type` block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Model {
    /// The keyword that opened the block.
    pub kind: ModelKind,
    /// The model's name.
    pub name: String,
    /// Its fields, in source order.
    pub fields: Vec<Field>,
    /// Its block attributes (`@@id`, `@@map`, ...), in source order.
    pub attributes: Vec<Attribute>,
    /// Where the block starts.
    pub position: Position,
}

impl Model {
    /// The first block attribute named `name` (without the `@@`).
    pub fn attribute(&self, name: &str) -> Option<&Attribute> {
        self.attributes.iter().find(|a| a.name == name)
    }

    /// The field named `name`.
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name == name)
    }
}

/// One field of a model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// The field's name.
    pub name: String,
    /// Its type with its `?` / `[]` modifier.
    pub field_type: FieldType,
    /// Its attributes (`@id`, `@db.VarChar(255)`, ...), in source order.
    pub attributes: Vec<Attribute>,
    /// Where the field starts.
    pub position: Position,
}

impl Field {
    /// The first attribute named `name` (without the `@`; `db.VarChar` for
    /// native types).
    pub fn attribute(&self, name: &str) -> Option<&Attribute> {
        self.attributes.iter().find(|a| a.name == name)
    }
}

/// A field's type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldType {
    /// The base type.
    pub base: BaseType,
    /// Required, `?` or `[]`.
    pub arity: Arity,
}

/// The base of a field type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BaseType {
    /// A scalar, enum, model or composite type name.
    Named(String),
    /// `Unsupported("...")`, with the database type as written.
    Unsupported(String),
}

/// A field type's modifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arity {
    /// No modifier.
    Required,
    /// `?`.
    Optional,
    /// `[]`.
    List,
}

/// An attribute: `@name(args)` on a field or enum value, `@@name(args)` on a
/// block. The name has no `@`; native types keep their prefix (`db.Uuid`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribute {
    /// The name without `@` / `@@`.
    pub name: String,
    /// Its arguments, in source order (empty without parentheses).
    pub arguments: Vec<Argument>,
    /// Where the attribute starts (at its `@`).
    pub position: Position,
}

impl Attribute {
    /// The value of the named argument `name` (`map: "x"`).
    pub fn named(&self, name: &str) -> Option<&Expr> {
        self.arguments
            .iter()
            .find(|a| a.name.as_deref() == Some(name))
            .map(|a| &a.value)
    }

    /// The first unnamed argument.
    pub fn unnamed(&self) -> Option<&Expr> {
        self.arguments
            .iter()
            .find(|a| a.name.is_none())
            .map(|a| &a.value)
    }

    /// The attribute's main argument: the first unnamed one, or else the
    /// one named `name` (Prisma accepts both `@@id([a])` and
    /// `@@id(fields: [a])`).
    pub fn main_argument(&self, name: &str) -> Option<&Expr> {
        self.unnamed().or_else(|| self.named(name))
    }
}

/// One argument of an attribute or function call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Argument {
    /// The name of a named argument (`onDelete` in `onDelete: Cascade`).
    pub name: Option<String>,
    /// The value.
    pub value: Expr,
    /// Where the argument starts (at its name, when it has one).
    pub position: Position,
}

/// A value in an argument or a property.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expr {
    /// A string literal, escapes resolved.
    String(String),
    /// A number literal, as written (`0`, `-1.5`, `1e3`).
    Number(String),
    /// `true` or `false`.
    Boolean(bool),
    /// Any other bare word or dotted path: an enum value, a field name,
    /// `Cascade`, `Desc`.
    Constant(String),
    /// A function call: `autoincrement()`, `dbgenerated("...")`,
    /// `env("DATABASE_URL")`, or a field with arguments in an index list
    /// (`title(sort: Desc)`).
    Function {
        /// The function's name.
        name: String,
        /// Its arguments.
        arguments: Vec<Argument>,
    },
    /// `[a, b, ...]`.
    Array(Vec<Expr>),
}

impl Expr {
    /// The string value, if this is a string literal.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Expr::String(s) => Some(s),
            _ => None,
        }
    }

    /// The word, if this is a constant (`Cascade`, an enum value, a field).
    pub fn as_constant(&self) -> Option<&str> {
        match self {
            Expr::Constant(s) => Some(s),
            _ => None,
        }
    }
}

/// An `enum` block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enum {
    /// The enum's name.
    pub name: String,
    /// Its values, in source order.
    pub values: Vec<EnumValue>,
    /// Its block attributes (`@@map`).
    pub attributes: Vec<Attribute>,
    /// Where the block starts.
    pub position: Position,
}

impl Enum {
    /// The first block attribute named `name` (without the `@@`).
    pub fn attribute(&self, name: &str) -> Option<&Attribute> {
        self.attributes.iter().find(|a| a.name == name)
    }
}

/// One value of an enum.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnumValue {
    /// The value's name.
    pub name: String,
    /// Its attributes (`@map`).
    pub attributes: Vec<Attribute>,
    /// Where the value starts.
    pub position: Position,
}

impl EnumValue {
    /// The first attribute named `name` (without the `@`).
    pub fn attribute(&self, name: &str) -> Option<&Attribute> {
        self.attributes.iter().find(|a| a.name == name)
    }
}

/// Which keyword opened a configuration block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigKind {
    /// `datasource`.
    Datasource,
    /// `generator`.
    Generator,
}

/// A `datasource` or `generator` block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigBlock {
    /// The keyword that opened it.
    pub kind: ConfigKind,
    /// The block's name (`db`, `client`).
    pub name: String,
    /// Its `key = value` lines, in source order.
    pub properties: Vec<Property>,
    /// Where the block starts.
    pub position: Position,
}

impl ConfigBlock {
    /// The value of property `name`.
    pub fn property(&self, name: &str) -> Option<&Expr> {
        self.properties
            .iter()
            .find(|p| p.name == name)
            .map(|p| &p.value)
    }
}

/// One `key = value` line of a configuration block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Property {
    /// The key.
    pub name: String,
    /// The value.
    pub value: Expr,
    /// Where the line starts.
    pub position: Position,
}

/// Parses a `schema.prisma`, and checks its attributes, their arguments
/// and its datasource properties against Prisma's vocabulary.
pub fn parse(text: &str) -> Result<Schema, ParseError> {
    let mut pairs = SchemaParser::parse(Rule::schema, text).map_err(|e| syntax_error(text, &e))?;
    let root = pairs
        .next()
        .ok_or_else(|| internal(text.len(), text, "empty parse tree"))?;
    let mut schema = Schema::default();
    for pair in root.into_inner() {
        match pair.as_rule() {
            Rule::model_declaration => schema.models.push(build_model(pair, text)?),
            Rule::enum_declaration => schema.enums.push(build_enum(pair, text)?),
            Rule::config_declaration => schema.configs.push(build_config(pair, text)?),
            _ => {}
        }
    }
    super::vocabulary::check(&schema)?;
    Ok(schema)
}

// ---------------------------------------------------------------------------
// Parse tree -> AST. The grammar guarantees the shapes; a missing piece is
// reported as an (unexpected) parse error rather than a panic.

fn position(pair: &Pair<'_, Rule>) -> Position {
    let (line, column) = pair.line_col();
    Position { line, column }
}

fn position_at(text: &str, offset: usize) -> Position {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before.get(line_start..).map_or(0, |s| s.chars().count()) + 1;
    Position { line, column }
}

fn internal(offset: usize, text: &str, what: &str) -> ParseError {
    let at = position_at(text, offset);
    ParseError {
        line: at.line,
        column: at.column,
        message: format!("internal parser error: {what}"),
    }
}

fn next_pair<'a>(
    inner: &mut impl Iterator<Item = Pair<'a, Rule>>,
    parent: &Pair<'a, Rule>,
    text: &str,
) -> Result<Pair<'a, Rule>, ParseError> {
    inner.next().ok_or_else(|| {
        internal(
            parent.as_span().start(),
            text,
            &format!("incomplete {:?}", parent.as_rule()),
        )
    })
}

fn build_model(pair: Pair<'_, Rule>, text: &str) -> Result<Model, ParseError> {
    let at = position(&pair);
    let mut inner = pair.clone().into_inner();
    let keyword = next_pair(&mut inner, &pair, text)?;
    let kind = match keyword.as_str() {
        "view" => ModelKind::View,
        "type" => ModelKind::Type,
        _ => ModelKind::Model,
    };
    let name = next_pair(&mut inner, &pair, text)?.as_str().to_string();
    let mut model = Model {
        kind,
        name,
        fields: Vec::new(),
        attributes: Vec::new(),
        position: at,
    };
    for member in inner {
        match member.as_rule() {
            Rule::field => model.fields.push(build_field(member, text)?),
            Rule::block_attribute => model.attributes.push(build_attribute(member, text)?),
            _ => {}
        }
    }
    Ok(model)
}

fn build_field(pair: Pair<'_, Rule>, text: &str) -> Result<Field, ParseError> {
    let at = position(&pair);
    let mut inner = pair.clone().into_inner();
    let name = next_pair(&mut inner, &pair, text)?.as_str().to_string();
    let type_pair = next_pair(&mut inner, &pair, text)?;
    let field_type = build_field_type(type_pair, text)?;
    let attributes = inner
        .map(|a| build_attribute(a, text))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Field {
        name,
        field_type,
        attributes,
        position: at,
    })
}

fn build_field_type(pair: Pair<'_, Rule>, text: &str) -> Result<FieldType, ParseError> {
    let mut inner = pair.clone().into_inner();
    let base_pair = next_pair(&mut inner, &pair, text)?;
    let base = match base_pair.as_rule() {
        Rule::unsupported_type => {
            let mut parts = base_pair.clone().into_inner();
            let string = next_pair(&mut parts, &base_pair, text)?;
            BaseType::Unsupported(build_string(string, text)?)
        }
        _ => BaseType::Named(base_pair.as_str().to_string()),
    };
    let arity = match inner.next().map(|m| m.as_rule()) {
        Some(Rule::list_modifier) => Arity::List,
        Some(Rule::optional_modifier) => Arity::Optional,
        _ => Arity::Required,
    };
    Ok(FieldType { base, arity })
}

fn build_attribute(pair: Pair<'_, Rule>, text: &str) -> Result<Attribute, ParseError> {
    let at = position(&pair);
    let mut inner = pair.clone().into_inner();
    let name = next_pair(&mut inner, &pair, text)?.as_str().to_string();
    let arguments = match inner.next() {
        Some(args) => build_arguments(args, text)?,
        None => Vec::new(),
    };
    Ok(Attribute {
        name,
        arguments,
        position: at,
    })
}

fn build_arguments(pair: Pair<'_, Rule>, text: &str) -> Result<Vec<Argument>, ParseError> {
    pair.into_inner()
        .filter(|p| p.as_rule() == Rule::argument)
        .map(|argument| {
            let at = position(&argument);
            let mut inner = argument.clone().into_inner();
            let arg = next_pair(&mut inner, &argument, text)?;
            if arg.as_rule() == Rule::named_argument {
                let mut parts = arg
                    .clone()
                    .into_inner()
                    .filter(|p| p.as_rule() != Rule::colon);
                let name = next_pair(&mut parts, &arg, text)?.as_str().to_string();
                let value = build_expression(next_pair(&mut parts, &arg, text)?, text)?;
                Ok(Argument {
                    name: Some(name),
                    value,
                    position: at,
                })
            } else {
                Ok(Argument {
                    name: None,
                    value: build_expression(arg, text)?,
                    position: at,
                })
            }
        })
        .collect()
}

fn build_expression(pair: Pair<'_, Rule>, text: &str) -> Result<Expr, ParseError> {
    // `expression` wraps exactly one alternative.
    let pair = if pair.as_rule() == Rule::expression {
        let mut inner = pair.clone().into_inner();
        next_pair(&mut inner, &pair, text)?
    } else {
        pair
    };
    Ok(match pair.as_rule() {
        Rule::function_call => {
            let mut inner = pair.clone().into_inner();
            let name = next_pair(&mut inner, &pair, text)?.as_str().to_string();
            let arguments = build_arguments(next_pair(&mut inner, &pair, text)?, text)?;
            Expr::Function { name, arguments }
        }
        Rule::array => Expr::Array(
            pair.into_inner()
                .filter(|p| p.as_rule() == Rule::expression)
                .map(|e| build_expression(e, text))
                .collect::<Result<Vec<_>, _>>()?,
        ),
        Rule::string => Expr::String(build_string(pair, text)?),
        Rule::number => Expr::Number(pair.as_str().to_string()),
        Rule::constant => match pair.as_str() {
            "true" => Expr::Boolean(true),
            "false" => Expr::Boolean(false),
            word => Expr::Constant(word.to_string()),
        },
        other => {
            return Err(internal(
                pair.as_span().start(),
                text,
                &format!("unexpected {other:?} in an expression"),
            ));
        }
    })
}

/// Resolves a string literal's escapes (JSON-style, as Prisma's).
fn build_string(pair: Pair<'_, Rule>, text: &str) -> Result<String, ParseError> {
    let mut inner = pair.clone().into_inner();
    let content = next_pair(&mut inner, &pair, text)?;
    let raw = content.as_str();
    let start = content.as_span().start();
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.char_indices();
    while let Some((i, c)) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let bad = |what: &str| {
            let at = position_at(text, start + i);
            ParseError {
                line: at.line,
                column: at.column,
                message: format!("invalid escape in string: {what}"),
            }
        };
        match chars.next().map(|(_, e)| e) {
            Some('"') => out.push('"'),
            Some('\\') => out.push('\\'),
            Some('/') => out.push('/'),
            Some('b') => out.push('\u{8}'),
            Some('f') => out.push('\u{c}'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('t') => out.push('\t'),
            Some('u') => {
                let hex: String = chars.by_ref().take(4).map(|(_, h)| h).collect();
                let decoded = (hex.len() == 4)
                    .then(|| u32::from_str_radix(&hex, 16).ok())
                    .flatten()
                    .and_then(char::from_u32);
                match decoded {
                    Some(ch) => out.push(ch),
                    None => return Err(bad(&format!("`\\u{hex}`"))),
                }
            }
            Some(other) => return Err(bad(&format!("`\\{other}`"))),
            None => return Err(bad("`\\` at the end")),
        }
    }
    Ok(out)
}

fn build_enum(pair: Pair<'_, Rule>, text: &str) -> Result<Enum, ParseError> {
    let at = position(&pair);
    let mut inner = pair.clone().into_inner();
    let _keyword = next_pair(&mut inner, &pair, text)?;
    let name = next_pair(&mut inner, &pair, text)?.as_str().to_string();
    let mut result = Enum {
        name,
        values: Vec::new(),
        attributes: Vec::new(),
        position: at,
    };
    for member in inner {
        match member.as_rule() {
            Rule::enum_value => {
                let value_at = position(&member);
                let mut parts = member.clone().into_inner();
                let value_name = next_pair(&mut parts, &member, text)?.as_str().to_string();
                let attributes = parts
                    .map(|a| build_attribute(a, text))
                    .collect::<Result<Vec<_>, _>>()?;
                result.values.push(EnumValue {
                    name: value_name,
                    attributes,
                    position: value_at,
                });
            }
            Rule::block_attribute => result.attributes.push(build_attribute(member, text)?),
            _ => {}
        }
    }
    Ok(result)
}

fn build_config(pair: Pair<'_, Rule>, text: &str) -> Result<ConfigBlock, ParseError> {
    let at = position(&pair);
    let mut inner = pair.clone().into_inner();
    let keyword = next_pair(&mut inner, &pair, text)?;
    let kind = if keyword.as_str() == "datasource" {
        ConfigKind::Datasource
    } else {
        ConfigKind::Generator
    };
    let name = next_pair(&mut inner, &pair, text)?.as_str().to_string();
    let mut block = ConfigBlock {
        kind,
        name,
        properties: Vec::new(),
        position: at,
    };
    for member in inner {
        if member.as_rule() == Rule::property {
            let property_at = position(&member);
            let mut parts = member
                .clone()
                .into_inner()
                .filter(|p| p.as_rule() != Rule::equals);
            let key = next_pair(&mut parts, &member, text)?.as_str().to_string();
            let value = build_expression(next_pair(&mut parts, &member, text)?, text)?;
            block.properties.push(Property {
                name: key,
                value,
                position: property_at,
            });
        }
    }
    Ok(block)
}

// ---------------------------------------------------------------------------
// pest errors -> messages for people.

fn syntax_error(text: &str, error: &pest::error::Error<Rule>) -> ParseError {
    let (line, column) = match error.line_col {
        LineColLocation::Pos(at) | LineColLocation::Span(at, _) => at,
    };
    let offset = match error.location {
        pest::error::InputLocation::Pos(p) | pest::error::InputLocation::Span((p, _)) => p,
    };
    let positives: &[Rule] = match &error.variant {
        ErrorVariant::ParsingError { positives, .. } => positives,
        // pest's own stack guard: arrays or arguments nested hundreds deep.
        ErrorVariant::CustomError { message } => {
            return ParseError {
                line,
                column,
                message: format!("nested too deeply ({message})"),
            };
        }
    };
    if let Some(unclosed) = unclosed_block(text, offset, positives) {
        return unclosed;
    }
    let found = describe_found(text, offset);
    let block = enclosing_block(text, offset);
    let message = if text.get(offset..).is_some_and(unterminated_string) {
        "unterminated string".to_string()
    } else if positives
        .iter()
        .any(|r| matches!(r, Rule::schema | Rule::model_keyword))
    {
        format!(
            "expected a `model`, `enum`, `view`, `type`, `datasource` or `generator` block, found {found}"
        )
    } else {
        let expected = describe_rules(positives, block.is_some());
        match block {
            Some((header, _, _)) => format!("expected {expected} in `{header}`, found {found}"),
            None => format!("expected {expected}, found {found}"),
        }
    };
    ParseError {
        line,
        column,
        message,
    }
}

/// True when `rest` starts a string literal that its line does not close.
fn unterminated_string(rest: &str) -> bool {
    let Some(body) = rest.strip_prefix('"') else {
        return false;
    };
    let mut escaped = false;
    for c in body.chars() {
        match c {
            '\n' | '\r' => return true,
            '"' if !escaped => return false,
            '\\' => escaped = !escaped,
            _ => escaped = false,
        }
    }
    true
}

/// A block that is not closed: the file ends inside it, or the next
/// block's opening line comes first. The error is placed where the `}` is
/// missing: at the end of the file, or at the start of that next block.
fn unclosed_block(text: &str, offset: usize, positives: &[Rule]) -> Option<ParseError> {
    let (line_start, at) = if offset >= text.len() && positives.contains(&Rule::block_end) {
        (offset, offset)
    } else {
        // Does the line of the error open a block, and is the error no
        // further than that opening `{`?
        let line_start = text.get(..offset)?.rfind('\n').map_or(0, |i| i + 1);
        let line = text.get(line_start..)?;
        let probe = SchemaParser::parse(Rule::block_start_probe, line)
            .ok()?
            .next()?;
        if line_start + probe.as_span().end() <= offset {
            return None;
        }
        let indent = line.len() - line.trim_start_matches([' ', '\t']).len();
        (line_start, line_start + indent)
    };
    let (header, opened, _) = enclosing_block(text, line_start)?;
    let position = position_at(text, at);
    Some(ParseError {
        line: position.line,
        column: position.column,
        message: format!(
            "expected `}}` to close `{header}` (opened at {opened}), found {}",
            describe_found(text, at)
        ),
    })
}

/// The header (`model User`), position and offset of the block enclosing
/// `offset`: the last block opened before it, if no `}` at the start of a
/// line has closed it since.
fn enclosing_block(text: &str, offset: usize) -> Option<(String, Position, usize)> {
    let before = text.get(..offset)?;
    let mut line_start = 0;
    let mut last = None;
    for line in before.split_inclusive('\n') {
        let trimmed = line.trim_start_matches([' ', '\t']);
        if let Ok(mut pairs) = SchemaParser::parse(Rule::block_start_probe, line)
            && let Some(probe) = pairs.next()
        {
            let words: Vec<&str> = probe.into_inner().map(|p| p.as_str()).collect();
            let indent = line.len() - trimmed.len();
            last = Some((
                words.join(" "),
                position_at(text, line_start + indent),
                line_start + indent,
            ));
        } else if trimmed.starts_with('}') {
            last = None;
        }
        line_start += line.len();
    }
    last
}

fn describe_found(text: &str, offset: usize) -> String {
    let rest = text.get(offset..).unwrap_or("");
    let Some(first) = rest.chars().next() else {
        return "the end of the file".to_string();
    };
    if first == '\n' || first == '\r' {
        return "the end of the line".to_string();
    }
    let word: String = rest
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '-')
        .take(40)
        .collect();
    if word.is_empty() {
        format!("`{first}`")
    } else {
        format!("`{word}`")
    }
}

/// "a, b or c" for the rules pest expected. Inside a block, the end of
/// the input is reported as the end of the line (what a member needs).
fn describe_rules(rules: &[Rule], in_block: bool) -> String {
    let mut names: Vec<&str> = Vec::new();
    for rule in rules {
        let name = match rule {
            Rule::EOI if in_block => "the end of the line",
            _ => describe_rule(*rule),
        };
        if !names.contains(&name) {
            names.push(name);
        }
    }
    match names.as_slice() {
        [] => "something else".to_string(),
        [one] => (*one).to_string(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

fn describe_rule(rule: Rule) -> &'static str {
    match rule {
        Rule::EOI => "the end of the file",
        Rule::model_keyword => "`model`",
        Rule::enum_keyword => "`enum`",
        Rule::config_keyword => "`datasource` or `generator`",
        Rule::identifier | Rule::block_name => "a name",
        Rule::field_name => "a field",
        Rule::value_name => "an enum value",
        Rule::property_name => "a property (`name = value`)",
        Rule::line_end => "the end of the line",
        Rule::argument => "an argument",
        Rule::comma => "`,`",
        Rule::colon => "`:`",
        Rule::equals => "`=`",
        Rule::close_paren => "`)`",
        Rule::close_bracket => "`]`",
        Rule::block_end => "`}`",
        Rule::block_start => "`{`",
        Rule::field => "a field",
        Rule::field_type | Rule::type_name | Rule::unsupported_type => "a type",
        Rule::list_modifier | Rule::optional_modifier => "`?` or `[]`",
        Rule::field_attribute => "an attribute (`@...`)",
        Rule::block_attribute => "a block attribute (`@@...`)",
        Rule::attribute_name => "an attribute name",
        Rule::enum_value => "an enum value",
        Rule::property => "a property (`name = value`)",
        Rule::arguments => "`(`",
        Rule::named_argument => "an argument",
        Rule::expression
        | Rule::function_call
        | Rule::array
        | Rule::string
        | Rule::number
        | Rule::constant => "a value",
        Rule::string_content => "the rest of the string",
        _ => "something else",
    }
}
