namespace Beacon.Tracker.Http;

/// <summary>What answers a parsed request (the tracker: <see cref="TrackerHandler.Handle"/>). Runs on the connection's thread; must not block.</summary>
internal delegate TrackerResponse HttpApplication(in TrackerRequest request);
