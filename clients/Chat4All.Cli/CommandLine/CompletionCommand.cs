using System.CommandLine;

namespace Chat4All.Cli.CommandLine;

/// <summary>
/// <c>completion bash|zsh</c>: prints a script that asks chat4all itself for completions through the
/// parser's <c>[suggest:POSITION]</c> directive, so commands, options and their fixed values
/// (<c>--output</c>, <c>--priority</c>, <c>--channel</c>) complete without a list kept by hand.
/// </summary>
public static class CompletionCommand
{
    private const string Bash = """
        # chat4all completion for bash: add to ~/.bashrc
        #   source <(chat4all completion bash)
        _chat4all_complete() {
          local line="${COMP_LINE#* }" point=$((COMP_POINT - ${#COMP_WORDS[0]} - 1))
          local IFS=$'\n'
          COMPREPLY=($(compgen -W "$(chat4all "[suggest:$point]" "$line" 2>/dev/null)" -- "${COMP_WORDS[COMP_CWORD]}"))
        }
        complete -o default -F _chat4all_complete chat4all
        """;

    private const string Zsh = """
        # chat4all completion for zsh: add to ~/.zshrc
        #   source <(chat4all completion zsh)
        _chat4all_complete() {
          local line="${BUFFER#* }"
          local -a suggestions
          suggestions=("${(@f)$(chat4all "[suggest:$((CURSOR - ${#words[1]} - 1))]" "$line" 2>/dev/null)}")
          compadd -a suggestions
        }
        compdef _chat4all_complete chat4all
        """;

    public static Command Create()
    {
        var shell = new Argument<string>("shell") { Description = "bash or zsh" };
        shell.AcceptOnlyFromAmong("bash", "zsh");
        var command = new Command("completion", "Print a shell completion script: source <(chat4all completion bash)") { shell };
        command.SetAction(parsed =>
        {
            parsed.InvocationConfiguration.Output.WriteLine(parsed.GetValue(shell) == "zsh" ? Zsh : Bash);
            return ExitCodes.Ok;
        });
        return command;
    }
}
