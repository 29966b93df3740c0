"""The tool contract and every tool. Classifies risk; never decides approvals; knows no DBOS."""
