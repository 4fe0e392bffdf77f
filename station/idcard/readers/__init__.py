"""Card reader drivers behind one interface (see base.CardReader)."""
