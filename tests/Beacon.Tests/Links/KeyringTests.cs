using System.Text.Json.Nodes;
using Beacon.Links;
using Microsoft.Extensions.Time.Testing;

namespace Beacon.Tests.Links;

public sealed class KeyringTests : IDisposable
{
    private readonly LinkKit _kit = new();

    [Fact]
    public void First_start_creates_one_active_key_readable_by_the_owner_only()
    {
        var key = Assert.Single(_kit.Keyring.Keys);
        Assert.Equal(1, key.Id);
        Assert.Equal(32, key.Secret.Length);
        Assert.Equal(LinkKit.Start, key.ActivateAfter);
        Assert.Null(key.RetireAfter);
        Assert.Same(key, _kit.Keyring.ActiveKey());
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(_kit.KeyringPath));
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(Path.GetDirectoryName(_kit.KeyringPath)!));
        }

        Assert.DoesNotContain(Convert.ToBase64String(key.Secret), key.ToString(), StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(Path.GetDirectoryName(_kit.KeyringPath)!, "*.tmp"));
    }

    [Fact]
    public void A_second_start_loads_the_same_keys()
    {
        var again = Keyring.LoadOrCreate(_kit.KeyringPath, _kit.Time);
        Assert.Equal(_kit.Keyring.Keys[0].Secret, again.Keys[0].Secret);
    }

    [Fact]
    public void Rotation_adds_a_key_that_seals_from_its_activation_and_schedules_the_old_ones_to_retire()
    {
        var added = Keyring.Rotate(_kit.KeyringPath, _kit.Time, activateIn: TimeSpan.FromHours(1), keepOld: TimeSpan.FromDays(365));
        Assert.Equal(2, added.Id);
        Assert.Equal(LinkKit.Start.AddHours(1), added.ActivateAfter);

        var reloaded = Keyring.Load(_kit.KeyringPath, _kit.Time);
        Assert.Equal([1, 2], reloaded.Keys.Select(k => (int)k.Id));
        Assert.Equal(LinkKit.Start.AddHours(1).AddDays(365), reloaded.Keys[0].RetireAfter);
        Assert.Null(reloaded.Keys[1].RetireAfter);

        // Distributed but not yet active: key 1 keeps sealing, and key 2 already opens.
        Assert.Equal(1, reloaded.ActiveKey().Id);
        Assert.True(reloaded.TryGetKey(2, out _, out _));
        _kit.Time.Advance(TimeSpan.FromHours(1));
        Assert.Equal(2, reloaded.ActiveKey().Id);
    }

    [Fact]
    public void Another_node_sees_a_rotation_without_restarting()
    {
        var otherNode = new LinkCodec(Keyring.Load(_kit.KeyringPath, _kit.Time));
        Keyring.Rotate(_kit.KeyringPath, _kit.Time, TimeSpan.Zero, TimeSpan.FromDays(30));
        _kit.Time.Advance(TimeSpan.FromSeconds(2));

        // A token naming a key this node has not loaded makes it look at the file at once.
        var token = new LinkCodec(Keyring.Load(_kit.KeyringPath, _kit.Time)).Seal(LinkKit.Click());
        Assert.True(otherNode.TryOpen(token, out var opened, out _));
        Assert.Equal(2, opened!.KeyId);
        Assert.Equal(2, otherNode.Keyring.ActiveKey().Id);
    }

    [Fact]
    public void Sealing_with_the_old_key_continues_until_the_periodic_check()
    {
        Keyring.Rotate(_kit.KeyringPath, _kit.Time, TimeSpan.Zero, TimeSpan.FromDays(30));
        Assert.Equal(1, _kit.Keyring.ActiveKey().Id);
        _kit.Time.Advance(Keyring.RefreshInterval);
        Assert.Equal(2, _kit.Keyring.ActiveKey().Id);
    }

    [Fact]
    public void Rotation_keeps_an_earlier_retirement_and_prunes_retired_keys()
    {
        Keyring.Rotate(_kit.KeyringPath, _kit.Time, TimeSpan.Zero, TimeSpan.FromDays(10));
        _kit.Time.Advance(TimeSpan.FromDays(1));
        Keyring.Rotate(_kit.KeyringPath, _kit.Time, TimeSpan.Zero, TimeSpan.FromDays(10));
        var keys = Keyring.Load(_kit.KeyringPath, _kit.Time).Keys;
        Assert.Equal(LinkKit.Start.AddDays(10), keys[0].RetireAfter);
        Assert.Equal(LinkKit.Start.AddDays(11), keys[1].RetireAfter);

        _kit.Time.Advance(TimeSpan.FromDays(9.5)); // key 1 retired, key 2 not yet
        Keyring.Rotate(_kit.KeyringPath, _kit.Time, TimeSpan.Zero, TimeSpan.FromDays(10));
        Assert.Equal([2, 3, 4], Keyring.Load(_kit.KeyringPath, _kit.Time).Keys.Select(k => (int)k.Id));
    }

    [Fact]
    public void No_active_key_is_an_error_that_says_what_to_do()
    {
        var time = new FakeTimeProvider(LinkKit.Start);
        WriteKeyring(new JsonObject { ["id"] = 1, ["key"] = Convert.ToBase64String(new byte[32]), ["created"] = "2025-01-01T00:00:00Z", ["retire_after"] = "2025-02-01T00:00:00Z" });
        var keyring = Keyring.Load(_kit.KeyringPath, time);
        var error = Assert.Throws<KeyringException>(keyring.ActiveKey);
        Assert.Contains("beacon keys rotate", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"format":1,"keys":[]}""", "no keys")]
    [InlineData("""{"format":2,"keys":[]}""", "unknown keyring format 2")]
    [InlineData("""{"format":1,"keys":[{"id":1,"key":"AAAA","created":"2025-01-01T00:00:00Z"}]}""", "256-bit key")]
    [InlineData("""{"format":1,"keys":[{"id":0,"key":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=","created":"2025-01-01T00:00:00Z"}]}""", "unique id")]
    [InlineData("""{"format":1,"keys":[{"id":1,"key":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}]}""", "no created time")]
    [InlineData("not json", "invalid keyring")]
    public void An_invalid_keyring_names_the_problem(string content, string message)
    {
        File.WriteAllText(_kit.KeyringPath, content);
        var error = Assert.Throws<KeyringException>(() => Keyring.Load(_kit.KeyringPath, _kit.Time));
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
        Assert.Contains(_kit.KeyringPath, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_keyring_is_an_error_for_load()
    {
        var error = Assert.Throws<KeyringException>(() => Keyring.Load(Path.Combine(_kit.Directory, "nope", "keyring.json"), _kit.Time));
        Assert.Contains("cannot read the keyring", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_keyring_made_unreadable_after_start_keeps_the_loaded_keys()
    {
        var token = _kit.Codec.Seal(LinkKit.Click());
        File.WriteAllText(_kit.KeyringPath, "garbage");
        File.SetLastWriteTimeUtc(_kit.KeyringPath, DateTime.UtcNow.AddMinutes(1));
        _kit.Time.Advance(Keyring.RefreshInterval);
        Assert.Equal(1, _kit.Keyring.ActiveKey().Id);
        Assert.True(_kit.Codec.TryOpen(token, out _, out _));
    }

    private void WriteKeyring(JsonObject key) =>
        File.WriteAllText(_kit.KeyringPath, new JsonObject { ["format"] = 1, ["keys"] = new JsonArray(key) }.ToJsonString());

    public void Dispose() => _kit.Dispose();
}
