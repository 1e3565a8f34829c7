// Placeholder so the library has a source while the component is built up; delete when real sources exist.
