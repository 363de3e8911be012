"""Staff tools, the same in Slack, the API and the console: suggested replies (suggestions), macros,
business hours (business_hours) and automatic assignment to staff on shift (assignment).

Nothing is imported here: `rapport classify` loads the CLI, which must not pull storage in through
the staff commands."""
