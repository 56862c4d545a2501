"""One thin package per CRM module: a model, a ModuleSpec, and the module's real behaviour."""
