namespace Beacon.Tracker;

/// <summary>The classifier's answer for one open or click.</summary>
public readonly record struct EngagementVerdict(Classification Classification, ClassificationReason Reasons, bool FirstHuman);
