"""Deals (vtiger Potentials) in pipelines of ordered stages, with a kanban board and stage history."""
