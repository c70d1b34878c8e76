namespace Beacon.Events;

/// <summary>
/// The PostgreSQL store's tables (docs/events.md); every statement is idempotent, run on each open. domain,
/// link_name, link_url and classification serve the metrics (as in the SQLite store); databases created before
/// them get the columns added, and their older rows count as having none.
/// </summary>
internal static class PostgresSchema
{
    public const string Create = """
        CREATE TABLE IF NOT EXISTS beacon_events (
            sequence        bigserial PRIMARY KEY,
            type            text NOT NULL,
            timestamp       timestamptz NOT NULL,
            message_id      text,
            transmission_id text,
            campaign_id     text,
            recipient       text,
            domain          text,
            link_name       text,
            link_url        text,
            classification  text,
            json            text NOT NULL
        );
        ALTER TABLE beacon_events ADD COLUMN IF NOT EXISTS domain text, ADD COLUMN IF NOT EXISTS link_name text,
            ADD COLUMN IF NOT EXISTS link_url text, ADD COLUMN IF NOT EXISTS classification text;
        CREATE INDEX IF NOT EXISTS beacon_events_timestamp ON beacon_events (timestamp);
        CREATE INDEX IF NOT EXISTS beacon_events_type ON beacon_events (type, sequence);
        CREATE INDEX IF NOT EXISTS beacon_events_message_id ON beacon_events (message_id) WHERE message_id IS NOT NULL;
        CREATE INDEX IF NOT EXISTS beacon_events_transmission_id ON beacon_events (transmission_id) WHERE transmission_id IS NOT NULL;
        CREATE INDEX IF NOT EXISTS beacon_events_campaign_id ON beacon_events (campaign_id) WHERE campaign_id IS NOT NULL;
        CREATE INDEX IF NOT EXISTS beacon_events_recipient ON beacon_events (lower(recipient)) WHERE recipient IS NOT NULL;
        CREATE TABLE IF NOT EXISTS beacon_cursors (
            name       text PRIMARY KEY,
            sequence   bigint NOT NULL,
            updated_at timestamptz NOT NULL
        );
        CREATE TABLE IF NOT EXISTS beacon_leases (
            name       text PRIMARY KEY,
            owner      text NOT NULL,
            expires_at timestamptz NOT NULL
        );
        """;
}
