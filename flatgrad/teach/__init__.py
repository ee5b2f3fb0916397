"""Teaching outputs: lesson, handout, worksheet, circuit diagram, typesetting, notebook."""
