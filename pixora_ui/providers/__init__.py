"""AI providers: the local engine, ImageKit and Gemini, behind one small interface."""
