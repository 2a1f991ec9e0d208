using Ingestion.Api.Features.Validation;
using Ingestion.Tests.Harness;
using Npgsql;

namespace Ingestion.Tests.Features.Validation;

/// <summary>
/// A bulk load in passes has PostgreSQL pick each slice's items out of the dataset and C# pick each row's slice: both
/// must put every id in the same slice, and the slices must come out even for ids of every kind.
/// </summary>
public sealed class LedgerSliceTests
{
    [Fact]
    public async Task The_slice_hash_is_postgresqls_uuid_hash_for_random_time_ordered_and_counted_ids()
    {
        var ids = Ids().ToArray();
        await using var db = await TestDatabase.OpenConnectionAsync();
        await using (var cmd = new NpgsqlCommand($"""
            SELECT uuid_hash(id), {LedgerSlice.Sql("id", "7", "2")}
            FROM unnest($1::uuid[]) WITH ORDINALITY AS x(id, n) ORDER BY n
            """, db) { Parameters = { new() { Value = ids } } })
        await using (var reader = await cmd.ExecuteReaderAsync())
        {
            foreach (var id in ids)
            {
                (await reader.ReadAsync()).ShouldBeTrue();
                LedgerSlice.PgUuidHash(id).ShouldBe(unchecked((uint)reader.GetInt32(0)), $"uuid_hash({id})");
                new LedgerSlice(2, 7).Contains(id).ShouldBe(reader.GetBoolean(1), $"slice of {id}");
            }
        }
        (await LedgerSlice.AgreesWithServerAsync(db, CancellationToken.None)).ShouldBeTrue();
    }

    [Fact]
    public void Slices_are_even_for_ids_counted_up_from_zero()
    {
        var counted = Enumerable.Range(0, 70_000).Select(Counted).ToArray();
        for (var pass = 0; pass < 7; pass++)
        {
            var slice = new LedgerSlice(pass, 7);
            counted.Count(slice.Contains).ShouldBeInRange(9_500, 10_500, $"pass {pass}");
        }
        counted.Count(id => Enumerable.Range(0, 7).Count(p => new LedgerSlice(p, 7).Contains(id)) == 1).ShouldBe(counted.Length, "each id in exactly one slice");
    }

    private static IEnumerable<Guid> Ids()
    {
        for (var i = 0; i < 3_000; i++)
        {
            yield return Guid.NewGuid();
            yield return Guid.CreateVersion7();
            yield return Counted(i);
        }
        yield return Guid.Empty;
        yield return Guid.AllBitsSet;
    }

    private static Guid Counted(int i) => new($"00000000-0000-0000-0000-{i:x12}");
}
