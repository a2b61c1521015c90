"""The schema comes from migrations, and the migrations match the models."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from foundation.base import Base
from foundation.jobs import is_ours
from webapp.extensions import db


def test_one_head(app, session):
    config = app.extensions["migrate"].migrate.get_config()
    assert len(ScriptDirectory.from_config(config).get_heads()) == 1


def test_migrated_schema_matches_the_models(session):
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True, "include_object": is_ours})
        assert compare_metadata(context, Base.metadata) == []


def test_downgrade_and_upgrade_again(session):
    from flask_migrate import downgrade, upgrade

    downgrade(revision="base")
    upgrade()
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True, "include_object": is_ours})
        assert compare_metadata(context, Base.metadata) == []
