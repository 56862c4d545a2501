"""Project tasks: the work of a project, with finish-to-start dependencies."""
