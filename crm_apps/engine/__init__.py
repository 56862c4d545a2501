"""The generic CRM module engine: CrmRecord, ModuleSpec registry, custom fields, picklists, numbering,
and the services/selectors every module shares. Behaviour specific to a module lives in its package."""
