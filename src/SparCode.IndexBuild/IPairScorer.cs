namespace SparCode.IndexBuild;

/// <summary>
/// Scores (code, item) pairs for the index build: <c>f(ẑ_c, v_i)</c> of given code tokens against the whole
/// catalogue. The training project implements it with TorchSharp on the CPU, <c>SparCode.Engine.Gpu</c> with the
/// ILGPU interaction scorer and with a plain reference; <see cref="PostingBuilder.Build"/> turns any of them into
/// posting lists by the same keep rule.
/// </summary>
/// <remarks>Implementations are not required to be thread-safe; one build uses one scorer.</remarks>
public interface IPairScorer : IDisposable
{
    /// <summary>What scores the pairs, as the index metadata records it (for example <c>cpu (TorchSharp)</c>).</summary>
    string Name { get; }

    /// <summary>Catalogue size n: every scored row holds n scores, item i at column i.</summary>
    int ItemCount { get; }

    /// <summary>Size of one code token, D.</summary>
    int TokenDim { get; }

    /// <summary>
    /// Scores every code token against every item. <paramref name="onBlock"/> receives (first row, row count,
    /// their scores row-major rows × n) for consecutive blocks of whole rows in ascending order, each row once;
    /// the span is valid only during the call.
    /// </summary>
    /// <param name="codeTokens">Row-major codes × D.</param>
    /// <param name="onBlock">Receives each block.</param>
    /// <exception cref="ArgumentException"><paramref name="codeTokens"/> is not a whole number of rows of D.</exception>
    void ScoreAll(ReadOnlySpan<float> codeTokens, Action<int, int, ReadOnlySpan<float>> onBlock);
}
