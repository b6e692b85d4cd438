//! The generated entity works against a database this tool migrated: SeaORM
//! inserts through the `SERIAL` default and reads `createdAt` back.

use sea_orm::{ActiveModelTrait, ActiveValue::Set, Database, EntityTrait};

use crate::support::pg;

#[test]
fn generated_entity_round_trips_a_user() {
    let db = pg().new_db("entity");
    db.run(db.migrate().arg("up")).expect(0);
    let url = db.url();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let conn = Database::connect(url.as_str()).await.expect("connect");
        let inserted = entity::user::ActiveModel {
            email: Set("ada@example.com".into()),
            name: Set(Some("Ada".into())),
            ..Default::default()
        }
        .insert(&conn)
        .await
        .expect("insert through the entity");
        assert_eq!(inserted.id, 1);
        let found = entity::prelude::User::find_by_id(inserted.id)
            .one(&conn)
            .await
            .expect("select")
            .expect("the row");
        assert_eq!(found, inserted);
        assert!(found.created_at.and_utc().timestamp() > 0);
    });
}
