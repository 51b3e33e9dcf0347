"""What the running system looks like to staff: dependency checks and the /status/ page."""
