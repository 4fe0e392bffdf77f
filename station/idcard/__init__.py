"""Identity from the second-generation resident ID card: SAM_V codec, readers, validation."""
