using Beacon.Queue;

namespace Beacon.Tests.Queue;

public sealed class DeliveryMetricsTests
{
    [Theory]
    [InlineData(10, "hard")]
    [InlineData(30, "hard")]
    [InlineData(90, "hard")]
    [InlineData(20, "soft")]
    [InlineData(21, "soft")]
    [InlineData(24, "soft")]
    [InlineData(40, "soft")]
    [InlineData(60, "soft")]
    [InlineData(70, "soft")]
    [InlineData(100, "soft")]
    [InlineData(25, "admin")]
    [InlineData(50, "block")]
    [InlineData(54, "block")]
    [InlineData(1, "undetermined")]
    [InlineData(80, "undetermined")]
    public void Bounce_classes_fall_into_sparkposts_categories(int bounceClass, string category) =>
        Assert.Equal(category, DeliveryMetrics.Category(bounceClass));
}
