using System.Collections;
using Microsoft.Extensions.Configuration;

namespace Beacon.Config;

/// <summary>
/// BEACON_-prefixed environment variables as configuration, with "__" as the section separator. Unlike
/// AddEnvironmentVariables it reads a given dictionary, so tests and `config check` see exactly what they pass.
/// </summary>
internal sealed class PrefixedEnvironmentSource(IDictionary variables, string prefix) : IConfigurationSource
{
    public IConfigurationProvider Build(IConfigurationBuilder builder) => new Provider(variables, prefix);

    private sealed class Provider(IDictionary variables, string prefix) : ConfigurationProvider
    {
        public override void Load()
        {
            var data = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
            foreach (DictionaryEntry entry in variables)
            {
                var name = (string)entry.Key;
                if (name.StartsWith(prefix, StringComparison.OrdinalIgnoreCase))
                {
                    data[name[prefix.Length..].Replace("__", ConfigurationPath.KeyDelimiter, StringComparison.Ordinal)] = entry.Value as string;
                }
            }

            Data = data;
        }
    }
}
