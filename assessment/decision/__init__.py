"""One recommendation per project, and the paths to eligibility."""
