"""The migrations build exactly the schema the models declare."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from api.core.database import Base, get_engine
from tests.conftest import alembic_config


async def test_migrated_schema_matches_the_models():
    def diff(connection):
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, Base.metadata)

    async with get_engine().connect() as connection:
        differences = await connection.run_sync(diff)

    assert differences == [], "models and migrations differ; write a migration for:"


async def test_the_first_migration_is_0001_initial():
    script = ScriptDirectory.from_config(alembic_config())

    assert [rev.revision for rev in script.walk_revisions()][-1] == "0001"
