using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Npgsql;

namespace Beacon.EndToEnd.Tests.Postgres;

/// <summary>
/// A real PostgreSQL 15 (Debian's postgresql-15 package, installed by test.sh) in a temp directory on 127.0.0.1 and a
/// free port, trusting local TCP connections; shared by the "postgres" collection, stopped at its end. PostgreSQL
/// refuses to run as root, so as root the server runs as the `postgres` system user the package creates.
/// </summary>
public sealed class PostgresServer : IAsyncLifetime
{
    public const string BinDirectory = "/usr/lib/postgresql/15/bin";

    private readonly string _directory = Path.Combine(Path.GetTempPath(), "beacon-pg-" + Guid.NewGuid().ToString("N")[..12]);
    private int _databases;

    public int Port { get; private set; }

    private string DataDirectory => Path.Combine(_directory, "data");

    public async Task InitializeAsync()
    {
        if (!File.Exists(Path.Combine(BinDirectory, "postgres")))
        {
            throw new InvalidOperationException($"PostgreSQL 15 is not installed ({BinDirectory}/postgres): run test.sh, or apt-get install postgresql-15");
        }

        Directory.CreateDirectory(_directory);
        if (IsRoot)
        {
            await RunAsync("chown", "postgres:postgres", _directory);
        }

        await RunAsPostgresAsync("initdb", "-D", DataDirectory, "-U", "postgres", "-A", "trust", "--no-sync", "-E", "UTF8", "--locale", "C");
        Port = FreePort();
        var options = $"-p {Port} -k {_directory} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200";
        await RunAsPostgresAsync("pg_ctl", "-D", DataDirectory, "-l", Path.Combine(_directory, "log"), "-o", options, "-w", "-t", "60", "start");
    }

    public async Task DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        try
        {
            await RunAsPostgresAsync("pg_ctl", "-D", DataDirectory, "-m", "immediate", "-w", "stop");
        }
        finally
        {
            try
            {
                Directory.Delete(_directory, recursive: true);
            }
            catch (IOException)
            {
                // A file still being written by a dying backend; the temp directory is only litter.
            }
        }
    }

    /// <summary>A fresh database for one test class; returns its connection string.</summary>
    public async Task<string> CreateDatabaseAsync(string prefix)
    {
        var name = $"{prefix.ToLowerInvariant()}_{Interlocked.Increment(ref _databases)}";
        await using (var connection = new NpgsqlConnection(ConnectionString("postgres")))
        {
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand($"CREATE DATABASE \"{name}\"", connection);
            await command.ExecuteNonQueryAsync();
        }

        return ConnectionString(name);
    }

    public string ConnectionString(string database) => $"Host=127.0.0.1;Port={Port};Username=postgres;Database={database};Pooling=true;Timeout=30";

    private static bool IsRoot => Environment.UserName == "root";

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static Task RunAsPostgresAsync(string tool, params string[] arguments) => IsRoot
        ? RunAsync("runuser", ["-u", "postgres", "--", Path.Combine(BinDirectory, tool), .. arguments])
        : RunAsync(Path.Combine(BinDirectory, tool), arguments);

    private static async Task RunAsync(string file, params string[] arguments)
    {
        var start = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = "/" };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} {string.Join(' ', arguments)} exited with {process.ExitCode}: {await output}{await error}");
        }
    }
}

[CollectionDefinition("postgres")]
public sealed class PostgresCollection : ICollectionFixture<PostgresServer>;
