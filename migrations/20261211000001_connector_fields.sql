-- A CRM deal's own fields mapped to the record's `customer`, `product` and `deal_type`.
ALTER TABLE connectors
    -- {"customer": "<CRM field key>", "product": "<key>", "deal_type": "<key>",
    --  "deal_types": {"<the field's value in the CRM>": "new" | "upsell" | "cross_sell"}}
    ADD COLUMN field_map JSONB NOT NULL DEFAULT '{}',
    -- The CRM's deal fields as last read (at saving and at each reconcile): [{"key": …, "name": …}].
    ADD COLUMN fields JSONB NOT NULL DEFAULT '[]',
    -- Set when every deal must be read again (a field was just mapped): the next whole reconcile
    -- reads from here, then clears it (unless it was set again meanwhile).
    ADD COLUMN reread_from TIMESTAMPTZ;
