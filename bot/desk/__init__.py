"""The agent desk: case lifecycle, routing and assignment, and the Slack side where agents work cases."""
