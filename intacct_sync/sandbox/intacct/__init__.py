"""The Sage Intacct XML gateway emulator: gateway, functions, schema, store and seed."""
