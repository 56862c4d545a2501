"""Project milestones: dated checkpoints of a project."""
