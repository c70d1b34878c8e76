using System.CommandLine;
using Beacon.Config;
using Beacon.Server;

var configOption = new Option<string?>("--config") { Description = "JSON configuration file (comments allowed); without it, the embedded defaults" };
var dataOption = new Option<string?>("--data") { Description = "Data directory (overrides data_dir)" };
var setOption = new Option<string[]>("--set")
{
    Description = "Override one key, e.g. --set smtp:listeners:0:listen=0.0.0.0:25 (repeatable)",
    AllowMultipleArgumentsPerToken = false,
};
var jsonOption = new Option<bool>("--json") { Description = "Machine-readable output" };

var run = new Command("run", "Start Beacon: SMTP listeners, spool and event pipeline") { configOption, dataOption, setOption };
run.SetAction((parse, _) => Verbs.RunAsync(Verbs.Overrides(parse, configOption, dataOption, setOption)));

var listenerOption = new Option<string?>("--listener") { Description = "With --peer: show the smtpapi settings this listener applies to that client" };
var peerOption = new Option<string?>("--peer") { Description = "Client IP address for --listener" };
var check = new Command("check", "Validate a configuration without starting; prints the effective listeners") { configOption, dataOption, setOption, listenerOption, peerOption, jsonOption };
check.SetAction(parse => Verbs.CheckConfig(Verbs.Overrides(parse, configOption, dataOption, setOption), parse.GetValue(listenerOption), parse.GetValue(peerOption), parse.GetValue(jsonOption)));
var config = new Command("config", "Configuration tools") { check };

var idArgument = new Argument<string>("id") { Description = "Message id (20 hex characters)" };
var list = new Command("list", "List queued messages, oldest first") { configOption, dataOption, setOption, jsonOption };
list.SetAction(parse => Verbs.QueueList(Verbs.Overrides(parse, configOption, dataOption, setOption), parse.GetValue(jsonOption)));
var show = new Command("show", "Show one queued message: its metadata and headers") { idArgument, configOption, dataOption, setOption, jsonOption };
show.SetAction(parse => Verbs.QueueShow(Verbs.Overrides(parse, configOption, dataOption, setOption), parse.GetValue(idArgument)!, parse.GetValue(jsonOption)));
var retry = new Command("retry", "Try a queued message's waiting recipients now") { idArgument, configOption, dataOption, setOption };
retry.SetAction((parse, _) => Verbs.QueueCommandAsync(Verbs.Overrides(parse, configOption, dataOption, setOption), "retry", parse.GetValue(idArgument)!));
var bounce = new Command("bounce", "Bounce a queued message's unfinished recipients (bounce class 25)") { idArgument, configOption, dataOption, setOption };
bounce.SetAction((parse, _) => Verbs.QueueCommandAsync(Verbs.Overrides(parse, configOption, dataOption, setOption), "bounce", parse.GetValue(idArgument)!));
var captured = new Command("captured", "List the copies capture mode kept (data_dir/capture)") { configOption, dataOption, setOption, jsonOption };
captured.SetAction(parse => Verbs.QueueCaptured(Verbs.Overrides(parse, configOption, dataOption, setOption), parse.GetValue(jsonOption)));
var queue = new Command("queue", "Inspect and act on the delivery queue") { list, show, retry, bounce, captured };

var hash = new Command("hash-password", "Read a password from standard input and print the password_hash for the configuration");
hash.SetAction(_ => Verbs.HashPassword());
var auth = new Command("auth", "SMTP AUTH tools") { hash };

var activateInOption = new Option<long?>("--activate-in") { Description = "Seconds before the new key seals links (time to copy the keyring to every node); default 0" };
var keepOption = new Option<long?>("--keep") { Description = "Seconds older keys keep opening links after the new key activates; default the longest tracking_link_expiry" };
var rotate = new Command("rotate", "Add a new link key; older keys keep opening their links until those expire") { configOption, dataOption, setOption, activateInOption, keepOption };
rotate.SetAction(parse => LinkVerbs.Rotate(Verbs.Overrides(parse, configOption, dataOption, setOption), parse.GetValue(activateInOption), parse.GetValue(keepOption)));
var keysList = new Command("list", "List the link keys (never the secrets)") { configOption, dataOption, setOption, jsonOption };
keysList.SetAction(parse => LinkVerbs.List(Verbs.Overrides(parse, configOption, dataOption, setOption), parse.GetValue(jsonOption)));
var keys = new Command("keys", "The keyring that seals tracked links") { rotate, keysList };

var urlArgument = new Argument<string>("url") { Description = "A tracked link, its path, or just the token" };
var decode = new Command("decode", "Print what a tracked link carries, as JSON") { urlArgument, configOption, dataOption, setOption };
decode.SetAction(parse => LinkVerbs.Decode(Verbs.Overrides(parse, configOption, dataOption, setOption), parse.GetValue(urlArgument)!));
var kindOption = new Option<string>("--kind") { Description = "click (needs --target), open or initial_open", DefaultValueFactory = _ => "click" };
var targetOption = new Option<string?>("--target") { Description = "Where a click link redirects (http or https URL)" };
var recipientOption = new Option<string>("--recipient") { Description = "rcpt_to of the link's events", DefaultValueFactory = _ => "someone@example.com" };
var messageIdOption = new Option<string?>("--message-id") { Description = "20 lowercase hex characters; default random" };
var transmissionOption = new Option<string?>("--transmission-id") { Description = "transmission_id of the link's events" };
var campaignOption = new Option<string?>("--campaign-id") { Description = "campaign_id of the link's events" };
var linkNameOption = new Option<string?>("--link-name") { Description = "target_link_name of the click's events" };
var expiresInOption = new Option<long?>("--expires-in") { Description = "Seconds the link counts events (negative: already expired); default 31536000" };
var renderedAtOption = new Option<long?>("--rendered-at") { Description = "Unix seconds of delivery (the classifier's reference); default none" };
var schemeOption = new Option<string>("--scheme") { Description = "http or https", DefaultValueFactory = _ => "http" };
var domainOption = new Option<string>("--tracking-domain") { Description = "host[:port] of the tracker", DefaultValueFactory = _ => "localhost:8080" };
var encode = new Command("encode", "Seal a tracked link with this data directory's keyring and print its URL")
{
    kindOption, targetOption, recipientOption, messageIdOption, transmissionOption, campaignOption, linkNameOption, expiresInOption,
    renderedAtOption, schemeOption, domainOption, configOption, dataOption, setOption,
};
encode.SetAction(parse => LinkVerbs.Encode(Verbs.Overrides(parse, configOption, dataOption, setOption), new LinkVerbs.EncodeRequest(
    parse.GetValue(kindOption)!, parse.GetValue(targetOption), parse.GetValue(recipientOption)!, parse.GetValue(messageIdOption),
    parse.GetValue(transmissionOption), parse.GetValue(campaignOption), parse.GetValue(linkNameOption), parse.GetValue(expiresInOption),
    parse.GetValue(renderedAtOption), parse.GetValue(schemeOption)!, parse.GetValue(domainOption)!)));
var link = new Command("link", "Tracked link tools") { decode, encode };

var webhookNameArgument = new Argument<string>("name") { Description = "The webhook's name (its target URL when it has none)" };
var fromOption = new Option<string>("--from") { Description = "Start of the range, ISO 8601 (UTC unless an offset is given)", Required = true };
var toOption = new Option<string>("--to") { Description = "End of the range, inclusive, ISO 8601", Required = true };
var replay = new Command("replay", "Send a webhook's events of a time range again (new batch ids; the live cursor doesn't move)")
{
    webhookNameArgument, fromOption, toOption, configOption, dataOption, setOption, jsonOption,
};
replay.SetAction((parse, cancellation) => WebhookVerbs.ReplayAsync(Verbs.Overrides(parse, configOption, dataOption, setOption),
    parse.GetValue(webhookNameArgument)!, parse.GetValue(fromOption)!, parse.GetValue(toOption)!, parse.GetValue(jsonOption), cancellation));
var webhooks = new Command("webhooks", "Webhook tools") { replay };

var typeOption = new Option<string[]>("--type") { Description = "Only events of these types, e.g. --type click,open (repeatable)", AllowMultipleArgumentsPerToken = false };
var linesOption = new Option<int>("--lines") { Description = "How many stored events to print before following (default 10)", DefaultValueFactory = _ => 10 };
var tail = new Command("tail", "Print the latest events, then each new one as it is stored (works beside `beacon run`)") { typeOption, jsonOption, linesOption, configOption, dataOption, setOption };
tail.SetAction((parse, cancellation) => EventVerbs.TailAsync(Verbs.Overrides(parse, configOption, dataOption, setOption), parse.GetValue(typeOption) ?? [], parse.GetValue(jsonOption), parse.GetValue(linesOption), Console.Out, cancellation));
var eventsCommand = new Command("events", "The event store") { tail };

var root = new RootCommand("Beacon: an SMTP injection MTA with engagement tracking") { run, config, queue, auth, keys, link, eventsCommand, webhooks };
var parsed = root.Parse(args);

// Signals are the host's to handle (graceful shutdown with 421 to open sessions), not the parser's.
return await parsed.InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null });
