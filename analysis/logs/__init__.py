"""Reading and mining logs: the pure core of log-analysis jobs (no Django import)."""
