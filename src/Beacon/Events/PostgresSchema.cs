namespace Beacon.Events;

/// <summary>The PostgreSQL store's tables (docs/events.md); every statement is idempotent, run on each open.</summary>
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
            json            text NOT NULL
        );
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
