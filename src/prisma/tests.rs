//! Parsing and derivation together, against catalogs read from a real
//! PostgreSQL 15.
//!
//! The `testdata/*.catalog` files are the output of `testdata/catalog.sql`
//! on databases built from Prisma Migrate's SQL: `rich.catalog` and
//! `small.catalog` from the golden `migration.sql` files Prisma Migrate
//! 7.10.1 generated (`tests/fixtures/prisma/`), `wide.catalog` and
//! `types.catalog` from `testdata/wide.sql` and `testdata/types.sql`,
//! written by hand after Prisma's PostgreSQL renderer for
//! `testdata/wide.prisma` and `testdata/types.prisma` (which Prisma's own
//! schema validator accepts).

use std::collections::BTreeMap;

use super::parse::{Arity, BaseType, ConfigKind, Expr, ModelKind};
use super::*;

const RICH: &str = include_str!("../../tests/fixtures/prisma/rich/schema.prisma");
const SMALL: &str = include_str!("../../prisma/schema.prisma");
const WIDE: &str = include_str!("testdata/wide.prisma");

fn catalog_of(schema: &str) -> Catalog {
    let parsed = parse(schema).unwrap_or_else(|e| panic!("parse: {e}"));
    let catalog = derive(&parsed).unwrap_or_else(|e| panic!("derive: {e}"));
    // The type value and its printed form agree.
    for table in catalog.tables.values() {
        for c in &table.columns {
            let list = if c.column_type.list { "[]" } else { "" };
            assert_eq!(
                format!("{}{list}", c.column_type.base.format()),
                c.data_type
            );
        }
    }
    catalog
}

/// The catalog one fact per line, sorted, as `testdata/catalog.sql` prints
/// a database's.
fn dump(catalog: &Catalog) -> String {
    let mut lines = Vec::new();
    for (name, labels) in &catalog.enums {
        lines.push(format!("enum {name} | {}", labels.join(", ")));
    }
    for (name, table) in &catalog.tables {
        assert_eq!(*name, table.name);
        for (i, c) in table.columns.iter().enumerate() {
            lines.push(format!(
                "column {name} | {:03} | {} | {} | {} | {}",
                i + 1,
                c.name,
                c.data_type,
                if c.nullable { "null" } else { "not null" },
                c.default.as_deref().unwrap_or("-")
            ));
        }
        if let Some(pk) = &table.primary_key {
            lines.push(format!(
                "pkey {name} | {} | {}",
                pk.name,
                pk.columns.join(", ")
            ));
        }
        for i in &table.indexes {
            lines.push(format!(
                "index {name} | {} | {} | {}",
                i.name,
                if i.unique { "unique" } else { "plain" },
                i.column_names().collect::<Vec<_>>().join(", ")
            ));
        }
        for f in &table.foreign_keys {
            lines.push(format!(
                "fkey {name} | {} | {} | {} | {} | delete {} | update {}",
                f.name,
                f.columns.join(", "),
                f.referenced_table,
                f.referenced_columns.join(", "),
                f.on_delete,
                f.on_update
            ));
        }
    }
    lines.sort();
    lines.join("\n") + "\n"
}

/// A column without `@default`, its type value read off the `format_type`
/// spellings these tests use.
fn column(name: &str, data_type: &str, nullable: bool, default: Option<&str>) -> Column {
    let (base, list) = match data_type.strip_suffix("[]") {
        Some(base) => (base, true),
        None => (data_type, false),
    };
    let base = match base {
        "integer" => PgType::Integer,
        "bigint" => PgType::BigInt,
        "text" => PgType::Text,
        "boolean" => PgType::Boolean,
        "jsonb" => PgType::Jsonb,
        "bytea" => PgType::Bytea,
        "double precision" => PgType::DoublePrecision,
        "\"Role\"" => PgType::Enum("Role".into()),
        "character varying(500)" => PgType::VarChar(Some(500)),
        "character varying(255)" => PgType::VarChar(Some(255)),
        "numeric(4,2)" => PgType::Numeric(Some((4, 2))),
        "timestamp(3) without time zone" => PgType::Timestamp(Some(3)),
        "timestamp(6) with time zone" => PgType::Timestamptz(Some(6)),
        other => panic!("add {other} to the test's type table"),
    };
    Column {
        name: name.to_string(),
        field: Some(name.to_string()),
        data_type: data_type.to_string(),
        column_type: ColumnType { base, list },
        nullable,
        default: default.map(str::to_string),
        serial: None,
        prisma_default: None,
    }
}

/// `column` with what its `@default(...)` says.
fn with_default(mut column: Column, default: PrismaDefault) -> Column {
    if default == PrismaDefault::Autoincrement {
        column.serial = Some(format!(
            "{}_seq",
            column
                .default
                .as_deref()
                .and_then(|d| d.strip_prefix("nextval('\""))
                .and_then(|d| d.strip_suffix("_seq\"'::regclass)"))
                .unwrap_or_default()
        ));
    }
    column.prisma_default = Some(default);
    column
}

fn strings(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

fn constraint(name: &str, columns: &[&str]) -> Option<Constraint> {
    Some(Constraint {
        name: name.to_string(),
        columns: strings(columns),
    })
}

fn index(name: &str, columns: &[&str], unique: bool) -> Index {
    Index {
        name: name.to_string(),
        columns: columns
            .iter()
            .map(|c| IndexColumn {
                name: c.to_string(),
                sort: None,
            })
            .collect(),
        unique,
        method: IndexMethod::BTree,
    }
}

fn foreign_key(
    name: &str,
    columns: &[&str],
    referenced: (&str, &[&str]),
    on_delete: &str,
    on_update: &str,
) -> ForeignKey {
    ForeignKey {
        name: name.to_string(),
        columns: strings(columns),
        referenced_table: referenced.0.to_string(),
        referenced_columns: strings(referenced.1),
        on_delete: on_delete.to_string(),
        on_update: on_update.to_string(),
    }
}

/// Every value below is what PostgreSQL 15 reports (`format_type`,
/// `pg_get_expr`, `attnotnull`, `pg_indexes`, `pg_constraint`) for the
/// golden `rich/migration.sql`.
#[test]
fn rich_schema_derives_the_catalog_of_its_migration() {
    let mut author_id = column("author_id", "integer", false, None);
    author_id.field = Some("authorId".to_string());
    let expected = Catalog {
        enums: BTreeMap::from([("Role".to_string(), strings(&["USER", "ADMIN"]))]),
        tables: BTreeMap::from([
            (
                "User".to_string(),
                Table {
                    name: "User".to_string(),
                    model: Some("User".to_string()),
                    columns: vec![
                        with_default(
                            column(
                                "id",
                                "integer",
                                false,
                                Some("nextval('\"User_id_seq\"'::regclass)"),
                            ),
                            PrismaDefault::Autoincrement,
                        ),
                        column("email", "text", false, None),
                        column("name", "text", true, None),
                        with_default(
                            column("role", "\"Role\"", false, Some("'USER'::\"Role\"")),
                            PrismaDefault::Value(PrismaValue::Enum("USER".into())),
                        ),
                        with_default(
                            column(
                                "createdAt",
                                "timestamp(3) without time zone",
                                false,
                                Some("CURRENT_TIMESTAMP"),
                            ),
                            PrismaDefault::Now,
                        ),
                        column("updatedAt", "timestamp(3) without time zone", false, None),
                    ],
                    primary_key: constraint("User_pkey", &["id"]),
                    indexes: vec![index("User_email_key", &["email"], true)],
                    foreign_keys: vec![],
                },
            ),
            (
                "Profile".to_string(),
                Table {
                    name: "Profile".to_string(),
                    model: Some("Profile".to_string()),
                    columns: vec![
                        with_default(
                            column(
                                "id",
                                "integer",
                                false,
                                Some("nextval('\"Profile_id_seq\"'::regclass)"),
                            ),
                            PrismaDefault::Autoincrement,
                        ),
                        column("bio", "character varying(500)", false, None),
                        column("userId", "integer", false, None),
                    ],
                    primary_key: constraint("Profile_pkey", &["id"]),
                    indexes: vec![index("Profile_userId_key", &["userId"], true)],
                    foreign_keys: vec![foreign_key(
                        "Profile_userId_fkey",
                        &["userId"],
                        ("User", &["id"]),
                        "CASCADE",
                        "CASCADE",
                    )],
                },
            ),
            (
                "posts".to_string(),
                Table {
                    name: "posts".to_string(),
                    model: Some("Post".to_string()),
                    columns: vec![
                        with_default(
                            column("id", "text", false, None),
                            PrismaDefault::Client("uuid".into()),
                        ),
                        column("title", "character varying(255)", false, None),
                        column("body", "text", true, None),
                        with_default(
                            column("published", "boolean", false, Some("false")),
                            PrismaDefault::Value(PrismaValue::Boolean(false)),
                        ),
                        with_default(
                            column("views", "bigint", false, Some("0")),
                            PrismaDefault::Value(PrismaValue::Int(0)),
                        ),
                        column("rating", "numeric(4,2)", true, None),
                        column("meta", "jsonb", true, None),
                        column("tags", "text[]", true, None),
                        author_id,
                        column("publishedAt", "timestamp(6) with time zone", true, None),
                        with_default(
                            column("score", "double precision", false, Some("0")),
                            PrismaDefault::Value(PrismaValue::Decimal("0".into())),
                        ),
                        column("payload", "bytea", true, None),
                    ],
                    primary_key: constraint("posts_pkey", &["id"]),
                    // Prisma's order: `@@index`es before `@@unique`s.
                    indexes: vec![
                        index("posts_publishedAt_idx", &["publishedAt"], false),
                        index("posts_author_id_title_key", &["author_id", "title"], true),
                    ],
                    foreign_keys: vec![foreign_key(
                        "posts_author_id_fkey",
                        &["author_id"],
                        ("User", &["id"]),
                        "RESTRICT",
                        "CASCADE",
                    )],
                },
            ),
        ]),
        declared: Some(Declared {
            tables: strings(&["User", "Profile", "posts"]),
            enums: strings(&["Role"]),
            foreign_keys: vec![
                ("Profile".into(), "Profile_userId_fkey".into()),
                ("posts".into(), "posts_author_id_fkey".into()),
            ],
            shortened: vec![],
        }),
        unsupported: vec![],
    };
    let derived = catalog_of(RICH);
    assert_eq!(derived, expected);
    assert_eq!(dump(&derived), include_str!("testdata/rich.catalog"));
}

#[test]
fn small_schema_derives_the_user_table() {
    let catalog = catalog_of(SMALL);
    assert!(catalog.enums.is_empty());
    assert_eq!(catalog.tables.len(), 1);
    let user = &catalog.tables["User"];
    assert_eq!(user.model.as_deref(), Some("User"));
    assert_eq!(
        user.columns,
        vec![
            with_default(
                column(
                    "id",
                    "integer",
                    false,
                    Some("nextval('\"User_id_seq\"'::regclass)")
                ),
                PrismaDefault::Autoincrement
            ),
            column("email", "text", false, None),
            column("name", "text", true, None),
            with_default(
                column(
                    "createdAt",
                    "timestamp(3) without time zone",
                    false,
                    Some("CURRENT_TIMESTAMP")
                ),
                PrismaDefault::Now
            ),
        ]
    );
    assert_eq!(user.primary_key, constraint("User_pkey", &["id"]));
    assert_eq!(
        user.indexes,
        vec![index("User_email_key", &["email"], true)]
    );
    assert!(user.foreign_keys.is_empty());
    assert_eq!(dump(&catalog), include_str!("testdata/small.catalog"));
}

/// Defaults of every kind, native types, lists, implicit many-to-many
/// (also a self-relation), composite keys, `map:` names, an optional
/// relation, explicit referential actions and names long enough to be cut.
#[test]
fn wide_schema_derives_the_catalog_postgres_reports() {
    let derived = dump(&catalog_of(WIDE));
    let expected = include_str!("testdata/wide.catalog");
    for (d, e) in derived.lines().zip(expected.lines()) {
        assert_eq!(d, e);
    }
    assert_eq!(derived, expected);
}

/// Defaults of the remaining native types and list defaults of each kind.
#[test]
fn types_schema_derives_the_defaults_postgres_reports() {
    assert_eq!(
        dump(&catalog_of(include_str!("testdata/types.prisma"))),
        include_str!("testdata/types.catalog")
    );
}

#[test]
fn maps_composite_ids_and_optional_relations() {
    let catalog = catalog_of(
        r#"
enum Kind {
  Small @map("s")
  Large
  @@map("kind_t")
}

model Owner {
  first String
  last  String
  pets  Pet[]
  @@id([first, last])
  @@map("owners")
}

model Pet {
  id         Int     @id(map: "pet_id") @default(autoincrement()) @map("pet_id")
  kind       Kind    @default(Small)
  ownerFirst String? @map("owner_first")
  ownerLast  String?
  owner      Owner?  @relation(fields: [ownerFirst, ownerLast], references: [first, last])
  @@unique([ownerFirst, kind], map: "pet_owner_kind")
  @@index([kind])
}
"#,
    );
    assert_eq!(catalog.enums["kind_t"], strings(&["s", "Large"]));
    let owners = &catalog.tables["owners"];
    assert_eq!(owners.model.as_deref(), Some("Owner"));
    assert_eq!(
        owners.primary_key,
        constraint("owners_pkey", &["first", "last"])
    );

    let pet = &catalog.tables["Pet"];
    assert_eq!(pet.primary_key, constraint("pet_id", &["pet_id"]));
    assert_eq!(pet.columns[0].name, "pet_id");
    assert_eq!(pet.columns[0].field.as_deref(), Some("id"));
    assert_eq!(
        pet.columns[0].default.as_deref(),
        Some("nextval('\"Pet_pet_id_seq\"'::regclass)")
    );
    assert_eq!(pet.columns[1].data_type, "kind_t");
    assert_eq!(pet.columns[1].default.as_deref(), Some("'s'::kind_t"));
    assert_eq!(
        pet.indexes,
        vec![
            index("Pet_kind_idx", &["kind"], false),
            index("pet_owner_kind", &["owner_first", "kind"], true),
        ]
    );
    assert_eq!(
        pet.foreign_keys,
        vec![foreign_key(
            "Pet_owner_first_ownerLast_fkey",
            &["owner_first", "ownerLast"],
            ("owners", &["first", "last"]),
            "SET NULL",
            "CASCADE",
        )]
    );
}

#[test]
fn required_scalars_make_the_default_on_delete_restrict() {
    // The relation field is optional but one of its scalars is required:
    // Prisma counts the relation as required.
    let catalog = catalog_of(
        "model A {\n  id Int @id\n  bs B[]\n}\nmodel B {\n  id Int @id\n  aId Int\n  a A? @relation(fields: [aId], references: [id], onUpdate: NoAction)\n}\n",
    );
    let fk = &catalog.tables["B"].foreign_keys[0];
    assert_eq!(fk.on_delete, "RESTRICT");
    assert_eq!(fk.on_update, "NO ACTION");
}

#[test]
fn relation_mode_prisma_creates_no_foreign_keys() {
    let schema = "datasource db {\n  provider = \"postgresql\"\n  relationMode = \"prisma\"\n}\n\
        model A {\n  id Int @id\n  bs B[]\n  cs C[]\n}\n\
        model B {\n  id Int @id\n  aId Int\n  a A @relation(fields: [aId], references: [id])\n}\n\
        model C {\n  id Int @id\n  as A[]\n}\n";
    let catalog = catalog_of(schema);
    assert!(catalog.tables["B"].foreign_keys.is_empty());
    let join = &catalog.tables["_AToC"];
    assert!(join.foreign_keys.is_empty());
    assert_eq!(join.indexes, vec![index("_AToC_B_index", &["B"], false)]);
}

#[test]
fn parses_the_syntax_tree() {
    let schema = parse(
        r#"// comment
generator client {
  provider = "prisma-client-js" // trailing comment
  binaryTargets = ["native", "debian-openssl-3.0.x"]
}

datasource db {
  provider = "postgresql"
  url      = env("DATABASE_URL")
}

/// A documented model.
model Post {
  id     String  @id @default(dbgenerated("gen_random_uuid()")) @db.Uuid
  score  Float?  @default(-1.5)
  tags   String[]
  shape  Unsupported("circle")?
  author User    @relation("Writes", fields: [authorId], references: [id],
                           onDelete: Cascade)
  authorId Int

  @@index([score(sort: Desc), id], type: BTree)
}
"#,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(schema.configs.len(), 2);
    assert_eq!(schema.configs[0].kind, ConfigKind::Generator);
    assert_eq!(
        schema.configs[0].property("binaryTargets"),
        Some(&Expr::Array(vec![
            Expr::String("native".into()),
            Expr::String("debian-openssl-3.0.x".into())
        ]))
    );
    let ds = schema
        .datasource()
        .unwrap_or_else(|| panic!("no datasource"));
    assert_eq!(
        ds.property("url"),
        Some(&Expr::Function {
            name: "env".into(),
            arguments: vec![parse::Argument {
                name: None,
                value: Expr::String("DATABASE_URL".into()),
                position: parse::Position {
                    line: 9,
                    column: 18
                },
            }]
        })
    );

    let post = &schema.models[0];
    assert_eq!(post.kind, ModelKind::Model);
    assert_eq!(post.position.line, 13);
    let id = &post.fields[0];
    assert_eq!(
        id.attributes
            .iter()
            .map(|a| a.name.as_str())
            .collect::<Vec<_>>(),
        ["id", "default", "db.Uuid"]
    );
    assert_eq!(
        id.attribute("default").and_then(|a| a.unnamed()),
        Some(&Expr::Function {
            name: "dbgenerated".into(),
            arguments: vec![parse::Argument {
                name: None,
                value: Expr::String("gen_random_uuid()".into()),
                position: parse::Position {
                    line: 14,
                    column: 43
                },
            }]
        })
    );
    assert_eq!(post.fields[1].field_type.arity, Arity::Optional);
    assert_eq!(
        post.fields[1]
            .attribute("default")
            .and_then(|a| a.unnamed()),
        Some(&Expr::Number("-1.5".into()))
    );
    assert_eq!(post.fields[2].field_type.arity, Arity::List);
    assert_eq!(
        post.fields[3].field_type.base,
        BaseType::Unsupported("circle".into())
    );
    let relation = post.fields[4]
        .attribute("relation")
        .unwrap_or_else(|| panic!("no @relation"));
    assert_eq!(relation.unnamed(), Some(&Expr::String("Writes".into())));
    assert_eq!(
        relation.named("onDelete"),
        Some(&Expr::Constant("Cascade".into()))
    );
    let index = post
        .attribute("index")
        .unwrap_or_else(|| panic!("no @@index"));
    assert_eq!(index.named("type"), Some(&Expr::Constant("BTree".into())));
    assert!(matches!(
        index.unnamed(),
        Some(Expr::Array(items)) if matches!(&items[0], Expr::Function { name, .. } if name == "score")
    ));
}

#[test]
fn a_typo_is_reported_where_it_is() {
    let text = "datasource db {\n  provider = \"postgresql\"\n}\n\nmodle User {\n  id Int @id\n}\n";
    let e = parse(text).err().unwrap_or_else(|| panic!("parsed"));
    assert_eq!((e.line, e.column), (5, 1));
    assert!(e.message.contains("found `modle`"), "{e}");
    assert!(e.to_string().starts_with("line 5, column 1: "), "{e}");

    let e = parse("model User {\n  id Int @id\n  email Strin g\n}\n")
        .err()
        .unwrap_or_else(|| panic!("parsed"));
    assert_eq!((e.line, e.column), (3, 15), "{e}");

    let e = parse("model User {\n  id Int @id @default(autoincrement()\n}\n")
        .err()
        .unwrap_or_else(|| panic!("parsed"));
    assert_eq!((e.line, e.column), (3, 1), "{e}");
    assert!(e.message.contains("`)`"), "{e}");

    let e = parse("model Post {\n  a Int @relation(fields: [a] references: [b])\n}\n")
        .err()
        .unwrap_or_else(|| panic!("parsed"));
    assert_eq!((e.line, e.column), (2, 31), "{e}");
    assert!(e.message.contains("expected `,` or `)`"), "{e}");
}

#[test]
fn an_unclosed_block_is_reported_where_the_brace_is_missing() {
    // At the end of the file.
    let e = parse("model User {\n  id Int @id\n")
        .err()
        .unwrap_or_else(|| panic!("parsed"));
    assert_eq!((e.line, e.column), (3, 1), "{e}");
    assert!(
        e.message
            .contains("`model User` (opened at line 1, column 1)"),
        "{e}"
    );

    // Before the next block.
    let e = parse("enum Role {\n  USER\n\nmodel User {\n  id Int @id\n}\n")
        .err()
        .unwrap_or_else(|| panic!("parsed"));
    assert_eq!((e.line, e.column), (4, 1), "{e}");
    assert!(
        e.message.contains("expected `}` to close `enum Role`"),
        "{e}"
    );

    let e = parse("model A {\n  id Int @id\n\n  model B {\n}\n")
        .err()
        .unwrap_or_else(|| panic!("parsed"));
    assert_eq!((e.line, e.column), (4, 3), "{e}");
    assert!(e.message.contains("close `model A`"), "{e}");
}

#[test]
fn derive_errors_name_the_model_and_field() {
    let error = |text: &str| {
        let schema = parse(text).unwrap_or_else(|e| panic!("{e}"));
        derive(&schema)
            .err()
            .unwrap_or_else(|| panic!("derived"))
            .to_string()
    };
    let e = error("model User {\n  id Int @id\n  email Strin\n}\n");
    assert!(
        e.contains("model User, field email (line 3)") && e.contains("`Strin`"),
        "{e}"
    );
    let e = error("enum Role {\n  A\n}\nmodel User {\n  id Int @id\n  role Role @default(B)\n}\n");
    assert!(
        e.contains("field role") && e.contains("no value `B`"),
        "{e}"
    );
    let e = error("model User {\n  id Int @id @db.VarChar(3)\n}\n");
    assert!(e.contains("field id") && e.contains("@db.VarChar"), "{e}");
    let e = error("model User {\n  id Int @id @default(\"x\")\n}\n");
    assert!(e.contains("field id") && e.contains("@default"), "{e}");
    let e = error("model User {\n  id Int @id\n  @@index([nope])\n}\n");
    assert!(e.contains("model User") && e.contains("`nope`"), "{e}");
    let e = error("datasource db {\n  provider = \"mysql\"\n}\n");
    assert!(e.contains("mysql"), "{e}");
}

#[test]
fn malformed_input_never_panics() {
    // Every prefix of a real schema, and deterministic byte mutations of it.
    let mut texts: Vec<String> = WIDE
        .char_indices()
        .step_by(3)
        .map(|(i, _)| WIDE[..i].to_string())
        .collect();
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    let noise = [
        '{', '}', '(', ')', '[', ']', '"', '@', '\n', ',', ':', '?', '\\', 'é', '-',
    ];
    for _ in 0..1000 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let mut chars: Vec<char> = RICH.chars().collect();
        let at = (seed as usize) % chars.len();
        let c = noise[(seed >> 32) as usize % noise.len()];
        match (seed >> 40) % 3 {
            0 => chars[at] = c,
            1 => chars.insert(at, c),
            _ => {
                chars.remove(at);
            }
        }
        texts.push(chars.into_iter().collect());
    }
    // Deep nesting is an error, not a stack overflow.
    texts.push(format!(
        "model A {{\n  id Int @default({})\n}}\n",
        "[".repeat(100_000)
    ));
    for text in &texts {
        if let Ok(schema) = parse(text) {
            let _ = derive(&schema);
        }
    }
}

#[test]
fn prisma_6_and_prisma_7_datasources_derive_the_same_catalog() {
    // Prisma 6 keeps the URL in the schema; Prisma 7 in prisma.config.ts.
    let model =
        "model User {\n  id    Int    @id @default(autoincrement())\n  email String @unique\n}\n";
    let six = format!(
        "datasource db {{\n  provider  = \"postgresql\"\n  url       = env(\"DATABASE_URL\")\n  directUrl = env(\"DIRECT_URL\")\n}}\n\n{model}"
    );
    let seven = format!("datasource db {{\n  provider = \"postgresql\"\n}}\n\n{model}");
    assert_eq!(catalog_of(&six), catalog_of(&seven));
}

/// What only a schema says: Prisma's numbering of objects, its index
/// order, sort orders and methods, and its view of `@default`.
#[test]
fn declared_order_index_details_and_defaults() {
    let catalog = catalog_of(
        r#"
enum Z {
  ONE
}
enum A {
  TWO
}

model Zoo {
  id    Int      @id
  code  String   @unique(sort: Desc)
  at    DateTime @default("2020-01-01T00:00:00+02:00")
  blob  Bytes    @default("AQI=")
  ratio Float    @default(1e3)
  keeper Keeper  @relation(fields: [keeperId], references: [id])
  keeperId Int
  birds Bird[]

  @@unique([at])
  @@index([code(sort: Asc), at(sort: Desc)], map: "zoo_code_at")
  @@index([blob], type: Hash)
}

model Keeper {
  id   Int   @id
  zoos Zoo[]
}

model Bird {
  id   Int   @id
  zoos Zoo[]
}
"#,
    );
    let declared = catalog.declared.clone().unwrap_or_default();
    assert_eq!(
        declared.tables,
        strings(&["Zoo", "Keeper", "Bird", "_BirdToZoo"])
    );
    assert_eq!(declared.enums, strings(&["Z", "A"]));
    assert_eq!(
        declared.foreign_keys,
        vec![
            ("Zoo".to_string(), "Zoo_keeperId_fkey".to_string()),
            ("_BirdToZoo".to_string(), "_BirdToZoo_A_fkey".to_string()),
            ("_BirdToZoo".to_string(), "_BirdToZoo_B_fkey".to_string()),
        ]
    );
    assert!(declared.shortened.is_empty());
    let zoo = &catalog.tables["Zoo"];
    let names: Vec<&str> = zoo.indexes.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(
        names,
        ["Zoo_code_key", "zoo_code_at", "Zoo_blob_idx", "Zoo_at_key"]
    );
    assert_eq!(zoo.indexes[0].columns[0].sort, Some(SortOrder::Desc));
    assert_eq!(zoo.indexes[1].columns[0].sort, Some(SortOrder::Asc));
    assert_eq!(zoo.indexes[2].method, IndexMethod::Hash);
    let default = |name: &str| {
        zoo.columns
            .iter()
            .find(|c| c.name == name)
            .and_then(|c| c.prisma_default.clone())
    };
    assert_eq!(
        default("at"),
        Some(PrismaDefault::Value(PrismaValue::DateTime(
            "2020-01-01 00:00:00 +02:00".into()
        )))
    );
    assert_eq!(
        default("blob"),
        Some(PrismaDefault::Value(PrismaValue::Bytes(vec![1, 2])))
    );
    assert_eq!(
        default("ratio"),
        Some(PrismaDefault::Value(PrismaValue::Decimal("1000".into())))
    );

    let long = "x".repeat(70);
    let catalog = catalog_of(&format!("model T {{\n  id Int @id @map(\"{long}\")\n}}\n"));
    let declared = catalog.declared.unwrap_or_default();
    assert_eq!(declared.shortened, vec![long]);
}

#[test]
fn index_arguments_the_derivation_does_not_model_are_errors() {
    for attribute in [
        "@@index([name(ops: raw(\"text_pattern_ops\"))], type: Gist)",
        "@@index([name(length: 10)])",
        "@@index([name], where: raw(\"name IS NOT NULL\"))",
        "@@index([name], type: Bloom)",
        "@@id([name(sort: Desc)])",
    ] {
        let text = format!("model T {{\n  id Int @unique\n  name String\n  {attribute}\n}}\n");
        let schema = parse(&text).unwrap_or_else(|e| panic!("{e}"));
        let e = derive(&schema)
            .err()
            .unwrap_or_else(|| panic!("derived {attribute}"));
        assert!(e.to_string().contains("model T"), "{attribute}: {e}");
    }
}

/// A word Prisma does not know is a parse error where it is written, never
/// something the derivation skips (a typo would be a missing index).
#[test]
fn unknown_attributes_and_arguments_are_parse_errors() {
    let model = |body: &str| format!("model User {{\n  id Int @id\n{body}\n}}\n");
    for (text, at, says) in [
        (
            model("  email String @uniq"),
            (3, 16),
            "unknown attribute `@uniq`",
        ),
        (
            model("  email String\n  @@indx([email])"),
            (4, 3),
            "unknown attribute `@@indx`",
        ),
        (
            model("  other User? @relation(fields: [id], references: [id], onDelet: Cascade)"),
            (3, 57),
            "unknown argument `onDelet:` of `@relation`",
        ),
        (
            model("  email String @unique(nmae: \"x\")"),
            (3, 24),
            "unknown argument `nmae:`",
        ),
        (
            model("  email String @unique @unique"),
            (3, 24),
            "`@unique` is given twice",
        ),
        (
            model("  email String @unique(\"x\")"),
            (3, 24),
            "takes no unnamed argument",
        ),
        (
            model("  email String @db.VarChr(3)"),
            (3, 16),
            "unknown PostgreSQL native type",
        ),
        (
            model("  email String @db.Text @db.VarChar(3)"),
            (3, 25),
            "a second native type",
        ),
        (
            model("  email String @map(\"a\", name: \"b\")"),
            (3, 26),
            "given twice",
        ),
        (
            model("  email String\n  @@index([email(sortt: Desc)])"),
            (4, 18),
            "unknown argument `sortt:` of a field in `@@index`",
        ),
        (
            model("  @@map(\"a\")\n  @@map(\"b\")"),
            (4, 3),
            "`@@map` is given twice",
        ),
        (
            "enum Role {\n  A @mapp(\"a\")\n}\n".to_string(),
            (2, 5),
            "unknown attribute `@mapp`",
        ),
        (
            "enum Role {\n  A\n  @@indx([A])\n}\n".to_string(),
            (3, 3),
            "unknown attribute `@@indx`",
        ),
        (
            "datasource db {\n  provider = \"postgresql\"\n  relationMod = \"prisma\"\n}\n"
                .to_string(),
            (3, 3),
            "unknown property `relationMod`",
        ),
    ] {
        let e = parse(&text)
            .err()
            .unwrap_or_else(|| panic!("parsed:\n{text}"));
        assert_eq!((e.line, e.column), at, "{e}\n{text}");
        assert!(e.message.contains(says), "{e}\n{text}");
    }
    // Generators take any property; every word of the rich schema is known.
    parse("generator client {\n  provider = \"prisma-client-js\"\n  anything = \"goes\"\n}\n")
        .unwrap_or_else(|e| panic!("{e}"));
    parse(RICH).unwrap_or_else(|e| panic!("{e}"));
    parse(WIDE).unwrap_or_else(|e| panic!("{e}"));
}

/// Known to Prisma but not mapped: refused by the derivation.
#[test]
fn multi_schema_is_refused() {
    for text in [
        "model T {\n  id Int @id\n  @@schema(\"other\")\n}\n",
        "enum E {\n  A\n  @@schema(\"other\")\n}\n",
    ] {
        let schema = parse(text).unwrap_or_else(|e| panic!("{e}"));
        let e = derive(&schema).err().unwrap_or_else(|| panic!("derived"));
        assert!(e.to_string().contains("@@schema"), "{e}");
    }
}

/// Every native type the vocabulary accepts is one the derivation maps.
#[test]
fn every_known_native_type_is_mapped() {
    for native in crate::prisma::vocabulary::NATIVE_TYPES {
        let scalar = match *native {
            "SmallInt" | "Integer" | "Oid" => "Int",
            "BigInt" => "BigInt",
            "Real" | "DoublePrecision" => "Float",
            "Decimal" | "Money" => "Decimal",
            "Boolean" => "Boolean",
            "Date" | "Time" | "Timetz" | "Timestamp" | "Timestamptz" => "DateTime",
            "Json" | "JsonB" => "Json",
            "ByteA" => "Bytes",
            _ => "String",
        };
        let text = format!("model T {{\n  id Int @id\n  x {scalar} @db.{native}\n}}\n");
        let schema = parse(&text).unwrap_or_else(|e| panic!("{e}"));
        derive(&schema).unwrap_or_else(|e| panic!("@db.{native}: {e}"));
    }
}

/// Every schema of the fixtures (Prisma's own validator accepts them all)
/// is within the vocabulary.
#[test]
fn every_fixture_schema_parses() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut pending = vec![root];
    let mut seen = 0;
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.map(|e| e.path()).unwrap_or_default();
            if path.is_dir() {
                pending.push(path);
            } else if path.extension().is_some_and(|e| e == "prisma") {
                let text = std::fs::read_to_string(&path).unwrap_or_default();
                parse(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                seen += 1;
            }
        }
    }
    assert!(seen > 100, "{seen} schemas");
}
