//! `schema.prisma`: parsing, and the PostgreSQL catalog Prisma Migrate
//! would create for it. (Being written; see the submodules.)
