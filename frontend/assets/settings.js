// Behaviour of the CRM settings screens (layout editor, picklist editor). Filled in by their owner.
