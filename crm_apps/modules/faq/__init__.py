"""FAQ: questions and sanitised rich-text answers, from scratch or from a solved ticket."""
