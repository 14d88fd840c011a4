"""Who may do what: the roles of API keys and of console accounts.

- `agent`: works the queue (tickets, conversations, orders, returns, KPIs);
- `lead`: the operations lead, an agent who also reads the returns report;
- `admin`: all of that, and the team's accounts and the settings;
- `service`: the action server's key (API only).
"""

from __future__ import annotations

KEY_ROLES = ("admin", "lead", "agent", "service")
CONSOLE_ROLES = ("agent", "lead", "admin")
# Who reads the returns report, in the console and through the API.
REPORT_ROLES = ("admin", "lead")
