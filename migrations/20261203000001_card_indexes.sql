-- Indexes for the KPI card's remaining record reads.

-- Deals that ended (closed, and were created) at an instant: active deals at
-- asof count those in the partial day at asof from this index alone.
CREATE INDEX deals_ended_idx ON deals ((greatest(created_at, closed_at))) INCLUDE (owner_id)
    WHERE status <> 'open';
-- The same for a team's or a rep's deals.
CREATE INDEX deals_owner_ended_idx ON deals (owner_id, (greatest(created_at, closed_at)))
    WHERE status <> 'open';

-- Costs of a period, and competitor prices observed in it.
CREATE INDEX costs_at_idx ON costs (at) INCLUDE (category, amount, team_id);
CREATE INDEX competitor_prices_at_idx ON competitor_prices (at) INCLUDE (product_id, price);

-- A won deal's customer region, read beside the deal by an index alone.
CREATE INDEX customers_region_idx ON customers (id) INCLUDE (region);

-- Won deals by close time with what breakdowns and distinct customers read.
CREATE INDEX deals_won_closed_idx ON deals (closed_at) INCLUDE (owner_id, customer_id, amount, product_id)
    WHERE status = 'won';
