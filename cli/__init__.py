"""The ``dialer`` command: campaign managers, operators and supervisors start here.

Each command parses its arguments, opens what it needs and calls into ``dialer/``; no logic lives here.
This module is the table of contents: the commands live beside it, one module per sub-app (``campaigns``,
``operators``, ``users``, ``groups``, ``lists``, ``compliance``, ``views``, ``serve``, ``run``, ``whatif``,
``db``; what they all share is ``store``), and are mounted here in the order ``dialer --help`` lists them.
"""

from __future__ import annotations

import typer

from cli.campaigns import campaign_app
from cli.compliance import compliance_app, dnc_app, report_compliance
from cli.db import db_app
from cli.groups import group_app, report_group
from cli.lists import lists_app
from cli.operators import operator_app
from cli.run import demo, run, sim_pbx
from cli.serve import serve
from cli.users import users_app
from cli.views import operator_console, report_app, report_campaign, watch
from cli.whatif import simulate_cmd, staffing_cmd

app = typer.Typer(help="Predictive/progressive outbound dialer for Asterisk.", no_args_is_help=True,
                  rich_markup_mode=None)

app.command("operator")(operator_console)
app.command("watch")(watch)
app.command("serve")(serve)
app.command("run")(run)
app.command("demo")(demo)
app.command("sim-pbx")(sim_pbx)
app.command("simulate")(simulate_cmd)
app.command("staffing")(staffing_cmd)

app.add_typer(db_app, name="db")
app.add_typer(campaign_app, name="campaign")
app.add_typer(operator_app, name="operators")
app.add_typer(group_app, name="group")
app.add_typer(compliance_app, name="compliance")
app.add_typer(dnc_app, name="dnc")
app.add_typer(report_app, name="report")
app.add_typer(lists_app, name="lists")
app.add_typer(users_app, name="users")

report_app.command("campaign")(report_campaign)
report_app.command("group")(report_group)
report_app.command("compliance")(report_compliance)

if __name__ == "__main__":
    app()
