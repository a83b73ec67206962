"""The agent desk: case lifecycle, routing and assignment, desk events, and the Slack side where agents work cases."""
