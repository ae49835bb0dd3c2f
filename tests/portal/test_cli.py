"""The ``ova`` command lists the portal's commands (not Flask's) and runs them in the app."""
from click.testing import CliRunner

from portal.cli import COMMANDS, main


def test_help_lists_the_portal_commands_only():
    result = CliRunner().invoke(main, ["--help"], prog_name="ova")
    assert result.exit_code == 0, result.output
    section = result.output.split("Commands:\n", 1)[1]
    listed = [line.split()[0] for line in section.splitlines() if line.startswith("  ")]
    assert listed == sorted(COMMANDS)
    for flask_only in ("--app", "--env-file", "--debug"):
        assert flask_only not in result.output


def test_an_unknown_command_is_refused():
    result = CliRunner().invoke(main, ["run"], prog_name="ova")
    assert result.exit_code == 2
    assert "No such command 'run'" in result.output


def test_the_same_commands_are_on_the_app(app):
    assert sorted(app.cli.commands) == sorted(COMMANDS)
