"""The station's Textual UI. Only this package imports textual."""
