"""Projects: what sales sold, planned and tracked (tasks, milestones, a Gantt view). See docs/projects.md."""
