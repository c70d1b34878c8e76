using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Beacon.Config;
using Beacon.Smtp;

namespace Beacon.Ingress;

/// <summary>One configured listener, resolved once at start: session options, relay networks, users, certificate, connection count.</summary>
public sealed class Listener
{
    private readonly IPNetwork[] _relayNetworks;
    private readonly Dictionary<string, UserOptions> _users;
    private readonly ConcurrentDictionary<string, bool> _verified = new();
    private readonly byte[] _cacheKey = RandomNumberGenerator.GetBytes(32);
    private readonly bool _xsetcontext;
    private int _connections;

    public Listener(ListenerOptions options, string dataDir)
    {
        Options = options;
        Endpoint = ConfigLoader.TryParseEndpoint(options.Listen, out var endpoint) ? endpoint! : throw new ArgumentException(options.Listen);
        Certificate = ServerCertificate.Load(options, dataDir);
        _relayNetworks = [.. options.RelayFrom.Select(c => IPNetwork.Parse(c))];
        _users = options.Auth.Users.ToDictionary(u => u.Username, StringComparer.Ordinal);
        var extensions = new HashSet<string>(options.Extensions, StringComparer.OrdinalIgnoreCase);
        _xsetcontext = extensions.Contains("XSETCONTEXT");
        SessionOptions = new SmtpSessionOptions
        {
            HostName = options.Hostname!,
            MaxMessageSize = options.Limits.MaxMessageSize,
            MaxRecipients = options.Limits.MaxRecipients,
            MaxErrors = options.Limits.MaxErrors,
            Pipelining = extensions.Contains("PIPELINING"),
            EightBitMime = extensions.Contains("8BITMIME"),
            SmtpUtf8 = extensions.Contains("SMTPUTF8"),
            Chunking = extensions.Contains("CHUNKING"),
            TlsAvailable = Certificate is not null,
            AuthAvailable = _users.Count > 0,
            AllowInsecureAuth = options.Auth.AllowInsecureAuth,
        };
    }

    public ListenerOptions Options { get; }

    public string Name => Options.Name;

    public IPEndPoint Endpoint { get; }

    /// <summary>The address actually bound (differs from <see cref="Endpoint"/> when the port is 0).</summary>
    public IPEndPoint? BoundEndpoint { get; internal set; }

    public X509Certificate2? Certificate { get; }

    public SmtpSessionOptions SessionOptions { get; }

    public bool IsRelayPermitted(IPAddress peer) => _relayNetworks.Any(n => n.Contains(peer));

    /// <summary>XSETCONTEXT lets a client set context variables, so it is offered only to trusted (relay_from) peers.</summary>
    public SmtpSessionOptions SessionOptionsFor(IPAddress peer) =>
        _xsetcontext && IsRelayPermitted(peer) ? SessionOptions with { XSetContext = true } : SessionOptions;

    public bool TryEnter()
    {
        if (Interlocked.Increment(ref _connections) <= Options.Limits.MaxConnections)
        {
            return true;
        }

        Interlocked.Decrement(ref _connections);
        return false;
    }

    public void Exit() => Interlocked.Decrement(ref _connections);

    /// <summary>
    /// PBKDF2 costs ~100 ms by design; an application that authenticates on every connection would pay it every
    /// time, so successful checks are remembered under a keyed hash (never the password itself).
    /// </summary>
    public AuthenticatedUser? Authenticate(string username, string password)
    {
        if (!_users.TryGetValue(username, out var user))
        {
            return null;
        }

        var key = Convert.ToBase64String(HMACSHA256.HashData(_cacheKey, Encoding.UTF8.GetBytes($"{username}\0{password}\0{user.PasswordHash}")));
        if (!_verified.ContainsKey(key))
        {
            if (!PasswordHash.Verify(password, user.PasswordHash))
            {
                return null;
            }

            _verified[key] = true;
        }

        return new AuthenticatedUser(user.Username, user.CustomerId);
    }
}
