"""The Salesforce REST, Composite and Bulk 2.0 emulator: API, OAuth, SOQL, schema, store, seed."""
